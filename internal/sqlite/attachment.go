package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

const attachmentCols = `id, purpose, owner_id, coalesce(conversation_id, ''), seq, name, mime, size, width, height,
	blob_key, thumb_key, thumb_mime, thumb_width, thumb_height, thumb_size, created_at, deleted_at`

func scanAttachment(r interface{ Scan(...any) error }) (parley.StoredAttachment, error) {
	var (
		a       parley.StoredAttachment
		th      parley.Thumbnail
		created int64
		deleted sql.NullInt64
	)
	err := r.Scan(&a.ID, &a.Purpose, &a.OwnerID, &a.ConversationID, &a.Seq, &a.Name, &a.MIME, &a.Size, &a.Width, &a.Height,
		&a.BlobKey, &a.ThumbKey, &th.MIME, &th.Width, &th.Height, &th.Size, &created, &deleted)
	if err != nil {
		return a, translate(err)
	}
	if a.ThumbKey != "" {
		a.Thumbnail = &th
	}
	a.CreatedAt = fromMillis(created)
	if deleted.Valid {
		t := fromMillis(deleted.Int64)
		a.DeletedAt = &t
	}
	return a, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertAttachment(ctx context.Context, tx *sql.Tx, a parley.StoredAttachment) error {
	var th parley.Thumbnail
	if a.Thumbnail != nil {
		th = *a.Thumbnail
	}
	var deleted any
	if a.DeletedAt != nil {
		deleted = millis(*a.DeletedAt)
	}
	// #nosec G202 -- only constant column lists are concatenated; values are bound
	_, err := tx.ExecContext(ctx, `INSERT INTO attachments (`+strings.ReplaceAll(attachmentCols, "coalesce(conversation_id, '')", "conversation_id")+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.ID, a.Purpose, a.OwnerID, nullString(a.ConversationID), a.Seq, a.Name, a.MIME, a.Size, a.Width, a.Height,
		a.BlobKey, a.ThumbKey, th.MIME, th.Width, th.Height, th.Size, millis(a.CreatedAt), deleted)
	return err
}

// CreateAttachment implements parley.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a parley.StoredAttachment) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertAttachment(ctx, tx, a) })
}

// Attachment implements parley.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, id string) (parley.StoredAttachment, error) {
	a, err := scanAttachment(s.read.QueryRowContext(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE id = ?`, id))
	if parley.IsCode(err, parley.CodeNotFound) {
		return a, parley.Errorf(parley.CodeNotFound, "attachment not found")
	}
	return a, err
}

// AttachmentUsage implements parley.AttachmentStore.
func (s *Store) AttachmentUsage(ctx context.Context, ownerID string) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM attachments
		WHERE owner_id = ? AND deleted_at IS NULL`, ownerID).Scan(&n)
	return n, translate(err)
}

// DeleteAttachment implements parley.AttachmentStore.
func (s *Store) DeleteAttachment(ctx context.Context, id, ownerID string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE attachments SET deleted_at = ? WHERE id = ? AND owner_id = ?
			AND purpose = 'file' AND conversation_id IS NULL AND deleted_at IS NULL`, millis(at), id, ownerID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.CodeNotFound, "attachment not found")
		}
		return nil
	})
}

// SetAvatar implements parley.AttachmentStore.
func (s *Store) SetAvatar(ctx context.Context, a parley.StoredAttachment) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a.ConversationID != "" {
			_, err = tx.ExecContext(ctx, `UPDATE attachments SET deleted_at = ? WHERE purpose = 'avatar'
				AND conversation_id = ? AND deleted_at IS NULL`, millis(a.CreatedAt), a.ConversationID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE attachments SET deleted_at = ? WHERE purpose = 'avatar'
				AND conversation_id IS NULL AND owner_id = ? AND deleted_at IS NULL`, millis(a.CreatedAt), a.OwnerID)
		}
		if err != nil {
			return err
		}
		return insertAttachment(ctx, tx, a)
	})
}

// Avatar implements parley.AttachmentStore.
func (s *Store) Avatar(ctx context.Context, userID, conversationID string) (parley.StoredAttachment, error) {
	var row *sql.Row
	if conversationID != "" {
		row = s.read.QueryRowContext(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE purpose = 'avatar'
			AND conversation_id = ? AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1`, conversationID)
	} else {
		row = s.read.QueryRowContext(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE purpose = 'avatar'
			AND conversation_id IS NULL AND owner_id = ? AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1`, userID)
	}
	a, err := scanAttachment(row)
	if parley.IsCode(err, parley.CodeNotFound) {
		return a, parley.Errorf(parley.CodeNotFound, "no avatar")
	}
	return a, err
}

// PurgeAttachments implements parley.AttachmentStore.
func (s *Store) PurgeAttachments(ctx context.Context, unsentBefore, deletedBefore time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE
			(conversation_id IS NULL AND purpose = 'file' AND created_at < ?) OR deleted_at < ?`,
			millis(unsentBefore), millis(deletedBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// BlobReferenced implements parley.AttachmentStore.
func (s *Store) BlobReferenced(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM attachments WHERE blob_key = ?)
		OR EXISTS (SELECT 1 FROM attachments WHERE thumb_key = ? AND thumb_key <> '')
		OR EXISTS (SELECT 1 FROM upload_parts WHERE blob_key = ?)`, key, key, key).Scan(&n)
	return n != 0, translate(err)
}

// CreateUpload implements parley.AttachmentStore.
func (s *Store) CreateUpload(ctx context.Context, u parley.Upload) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (id, owner_id, name, size, received, created_at, expires_at)
			VALUES (?, ?, ?, ?, 0, ?, ?)`, u.ID, u.OwnerID, u.Name, u.Size, millis(u.CreatedAt), millis(u.ExpiresAt))
		return err
	})
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func loadUpload(ctx context.Context, q rowQuerier, id string) (parley.Upload, error) {
	var u parley.Upload
	var created, expires int64
	err := q.QueryRowContext(ctx, `SELECT id, owner_id, name, size, received, created_at, expires_at FROM uploads
		WHERE id = ?`, id).Scan(&u.ID, &u.OwnerID, &u.Name, &u.Size, &u.Received, &created, &expires)
	if err == sql.ErrNoRows {
		return u, parley.Errorf(parley.CodeNotFound, "upload not found")
	}
	if err != nil {
		return u, translate(err)
	}
	u.CreatedAt, u.ExpiresAt = fromMillis(created), fromMillis(expires)
	rows, err := q.QueryContext(ctx, `SELECT blob_key, size FROM upload_parts WHERE upload_id = ? ORDER BY offset`, id)
	if err != nil {
		return u, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p parley.UploadPart
		if err := rows.Scan(&p.Key, &p.Size); err != nil {
			return u, translate(err)
		}
		u.Parts = append(u.Parts, p)
	}
	return u, translate(rows.Err())
}

// Upload implements parley.AttachmentStore.
func (s *Store) Upload(ctx context.Context, id string) (parley.Upload, error) {
	return loadUpload(ctx, s.read, id)
}

// AddUploadPart implements parley.AttachmentStore.
func (s *Store) AddUploadPart(ctx context.Context, id string, offset int64, part parley.UploadPart) (parley.Upload, error) {
	var u parley.Upload
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = loadUpload(ctx, tx, id); err != nil {
			return err
		}
		if offset != u.Received {
			return &parley.Error{Code: parley.CodeConflict, Field: "offset",
				Message: "the upload continues at offset " + strconv.FormatInt(u.Received, 10)}
		}
		if offset+part.Size > u.Size {
			return parley.Invalid("offset", "the part goes past the declared size %d", u.Size)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO upload_parts (upload_id, offset, blob_key, size) VALUES (?, ?, ?, ?)`,
			id, offset, part.Key, part.Size); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE uploads SET received = received + ? WHERE id = ?`, part.Size, id); err != nil {
			return err
		}
		u.Received += part.Size
		u.Parts = append(u.Parts, part)
		return nil
	})
	return u, err
}

// DeleteUpload implements parley.AttachmentStore.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id)
		return err
	})
}

// ExpiredUploads implements parley.AttachmentStore.
func (s *Store) ExpiredUploads(ctx context.Context, t time.Time) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM uploads WHERE expires_at < ?`, millis(t))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		ids = append(ids, id)
	}
	return ids, translate(rows.Err())
}

// The message side: Message.Attachments is kept as JSON in
// messages.attachments; the rows are bound inside the append.

func encodeAttachments(as []parley.Attachment) (string, error) {
	if len(as) == 0 {
		return "", nil
	}
	b, err := json.Marshal(as)
	return string(b), err
}

func decodeAttachments(s string) ([]parley.Attachment, error) {
	if s == "" {
		return nil, nil
	}
	var as []parley.Attachment
	err := json.Unmarshal([]byte(s), &as)
	return as, err
}

// claimAttachments reads which of m's files are unsent and live, and
// claims them by parley.ClaimAttachments.
func (w *wtx) claimAttachments(m parley.Message) error {
	if len(m.Attachments) == 0 {
		return nil
	}
	free := make(map[string]string, len(m.Attachments))
	for _, a := range m.Attachments {
		var owner string
		err := w.tx.QueryRowContext(w.ctx, `SELECT owner_id FROM attachments WHERE id = ?
			AND purpose = 'file' AND conversation_id IS NULL AND deleted_at IS NULL`, a.ID).Scan(&owner)
		if err == nil {
			free[a.ID] = owner
		} else if err != sql.ErrNoRows {
			return err
		}
	}
	return parley.ClaimAttachments(m, free)
}

// bindAttachments records that m (just inserted) carries its attachments.
func (w *wtx) bindAttachments(m *parley.Message, seq int64) error {
	for _, a := range m.Attachments {
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE attachments SET conversation_id = ?, seq = ? WHERE id = ?`,
			m.ConversationID, seq, a.ID); err != nil {
			return err
		}
	}
	return nil
}

// deleteMessageAttachments marks a deleted message's files deleted.
func (w *wtx) deleteMessageAttachments(conversationID string, seq int64, at time.Time) error {
	_, err := w.tx.ExecContext(w.ctx, `UPDATE attachments SET deleted_at = ? WHERE conversation_id = ? AND seq = ?
		AND purpose = 'file' AND deleted_at IS NULL`, millis(at), conversationID, seq)
	return err
}

// UserAvatars implements parley.AttachmentStore.
func (s *Store) UserAvatars(ctx context.Context, userIDs []string) (map[string]string, error) {
	out := make(map[string]string)
	for len(userIDs) > 0 {
		batch := userIDs[:min(len(userIDs), 500)]
		userIDs = userIDs[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		// #nosec G202 -- only placeholders are concatenated; values are bound
		rows, err := s.read.QueryContext(ctx, `SELECT owner_id, id FROM attachments WHERE purpose = 'avatar'
			AND conversation_id IS NULL AND deleted_at IS NULL AND owner_id IN (?`+strings.Repeat(",?", len(batch)-1)+`)
			ORDER BY created_at`, args...)
		if err != nil {
			return nil, translate(err)
		}
		for rows.Next() {
			var owner, id string
			if err := rows.Scan(&owner, &id); err != nil {
				rows.Close()
				return nil, translate(err)
			}
			out[owner] = id // the newest wins
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, translate(err)
		}
	}
	return out, nil
}
