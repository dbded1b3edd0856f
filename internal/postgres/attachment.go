package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const attachmentCols = `id, purpose, owner_id, coalesce(conversation_id, ''), seq, name, mime, size, width, height,
	blob_key, thumb_key, thumb_mime, thumb_width, thumb_height, thumb_size, created_at, deleted_at`

func scanAttachment(r pgx.Row) (parley.StoredAttachment, error) {
	var (
		a       parley.StoredAttachment
		th      parley.Thumbnail
		purpose string
		created int64
		deleted *int64
	)
	err := r.Scan(&a.ID, &purpose, &a.OwnerID, &a.ConversationID, &a.Seq, &a.Name, &a.MIME, &a.Size, &a.Width, &a.Height,
		&a.BlobKey, &a.ThumbKey, &th.MIME, &th.Width, &th.Height, &th.Size, &created, &deleted)
	if err != nil {
		return a, translate(err)
	}
	a.Purpose = parley.AttachmentPurpose(purpose)
	if a.ThumbKey != "" {
		a.Thumbnail = &th
	}
	a.CreatedAt = fromMillis(created)
	if deleted != nil {
		t := fromMillis(*deleted)
		a.DeletedAt = &t
	}
	return a, nil
}

func insertAttachment(ctx context.Context, tx pgx.Tx, a parley.StoredAttachment) error {
	var th parley.Thumbnail
	if a.Thumbnail != nil {
		th = *a.Thumbnail
	}
	var deleted *int64
	if a.DeletedAt != nil {
		d := millis(*a.DeletedAt)
		deleted = &d
	}
	_, err := tx.Exec(ctx, `INSERT INTO attachments (`+strings.ReplaceAll(attachmentCols, "coalesce(conversation_id, '')", "conversation_id")+`)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		a.ID, string(a.Purpose), a.OwnerID, a.ConversationID, a.Seq, a.Name, a.MIME, a.Size, a.Width, a.Height,
		a.BlobKey, a.ThumbKey, th.MIME, th.Width, th.Height, th.Size, millis(a.CreatedAt), deleted)
	return err
}

func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return translate(pgx.BeginFunc(ctx, s.pool, fn))
}

// CreateAttachment implements parley.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a parley.StoredAttachment) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return insertAttachment(ctx, tx, a) })
}

// Attachment implements parley.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, id string) (parley.StoredAttachment, error) {
	a, err := scanAttachment(s.pool.QueryRow(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE id = $1`, id))
	if parley.IsCode(err, parley.CodeNotFound) {
		return a, parley.Errorf(parley.CodeNotFound, "attachment not found")
	}
	return a, err
}

// AttachmentUsage implements parley.AttachmentStore.
func (s *Store) AttachmentUsage(ctx context.Context, ownerID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(size), 0)::bigint FROM attachments
		WHERE owner_id = $1 AND deleted_at IS NULL`, ownerID).Scan(&n)
	return n, translate(err)
}

// DeleteAttachment implements parley.AttachmentStore.
func (s *Store) DeleteAttachment(ctx context.Context, id, ownerID string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE attachments SET deleted_at = $3 WHERE id = $1 AND owner_id = $2
		AND purpose = 'file' AND conversation_id IS NULL AND deleted_at IS NULL`, id, ownerID, millis(at))
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "attachment not found")
	}
	return nil
}

// SetAvatar implements parley.AttachmentStore.
func (s *Store) SetAvatar(ctx context.Context, a parley.StoredAttachment) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if a.ConversationID != "" {
			_, err = tx.Exec(ctx, `UPDATE attachments SET deleted_at = $2 WHERE purpose = 'avatar'
				AND conversation_id = $1 AND deleted_at IS NULL`, a.ConversationID, millis(a.CreatedAt))
		} else {
			_, err = tx.Exec(ctx, `UPDATE attachments SET deleted_at = $2 WHERE purpose = 'avatar'
				AND conversation_id IS NULL AND owner_id = $1 AND deleted_at IS NULL`, a.OwnerID, millis(a.CreatedAt))
		}
		if err != nil {
			return err
		}
		return insertAttachment(ctx, tx, a)
	})
}

// Avatar implements parley.AttachmentStore.
func (s *Store) Avatar(ctx context.Context, userID, conversationID string) (parley.StoredAttachment, error) {
	var row pgx.Row
	if conversationID != "" {
		row = s.pool.QueryRow(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE purpose = 'avatar'
			AND conversation_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1`, conversationID)
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE purpose = 'avatar'
			AND conversation_id IS NULL AND owner_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1`, userID)
	}
	a, err := scanAttachment(row)
	if parley.IsCode(err, parley.CodeNotFound) {
		return a, parley.Errorf(parley.CodeNotFound, "no avatar")
	}
	return a, err
}

// PurgeAttachments implements parley.AttachmentStore.
func (s *Store) PurgeAttachments(ctx context.Context, unsentBefore, deletedBefore time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM attachments WHERE
		(conversation_id IS NULL AND purpose = 'file' AND created_at < $1) OR deleted_at < $2`,
		millis(unsentBefore), millis(deletedBefore))
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}

// BlobReferenced implements parley.AttachmentStore.
func (s *Store) BlobReferenced(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM attachments WHERE blob_key = $1)
		OR EXISTS (SELECT 1 FROM attachments WHERE thumb_key = $1 AND thumb_key <> '')
		OR EXISTS (SELECT 1 FROM upload_parts WHERE blob_key = $1)`, key).Scan(&ok)
	return ok, translate(err)
}

// CreateUpload implements parley.AttachmentStore.
func (s *Store) CreateUpload(ctx context.Context, u parley.Upload) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO uploads (id, owner_id, name, size, received, created_at, expires_at)
		VALUES ($1, $2, $3, $4, 0, $5, $6)`, u.ID, u.OwnerID, u.Name, u.Size, millis(u.CreatedAt), millis(u.ExpiresAt))
	return translate(err)
}

type rowQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) pgx.Row
	Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
}

func loadUpload(ctx context.Context, q rowQuerier, id string, lock bool) (parley.Upload, error) {
	var u parley.Upload
	var created, expires int64
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE"
	}
	err := q.QueryRow(ctx, `SELECT id, owner_id, name, size, received, created_at, expires_at FROM uploads
		WHERE id = $1`+forUpdate, id).Scan(&u.ID, &u.OwnerID, &u.Name, &u.Size, &u.Received, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, parley.Errorf(parley.CodeNotFound, "upload not found")
	}
	if err != nil {
		return u, translate(err)
	}
	u.CreatedAt, u.ExpiresAt = fromMillis(created), fromMillis(expires)
	rows, err := q.Query(ctx, `SELECT blob_key, size FROM upload_parts WHERE upload_id = $1 ORDER BY "offset"`, id)
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
	return loadUpload(ctx, s.pool, id, false)
}

// AddUploadPart implements parley.AttachmentStore.
func (s *Store) AddUploadPart(ctx context.Context, id string, offset int64, part parley.UploadPart) (parley.Upload, error) {
	var u parley.Upload
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if u, err = loadUpload(ctx, tx, id, true); err != nil {
			return err
		}
		if offset != u.Received {
			return &parley.Error{Code: parley.CodeConflict, Field: "offset",
				Message: "the upload continues at offset " + strconv.FormatInt(u.Received, 10)}
		}
		if offset+part.Size > u.Size {
			return parley.Invalid("offset", "the part goes past the declared size %d", u.Size)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO upload_parts (upload_id, "offset", blob_key, size) VALUES ($1, $2, $3, $4)`,
			id, offset, part.Key, part.Size); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE uploads SET received = received + $2 WHERE id = $1`, id, part.Size); err != nil {
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
	_, err := s.pool.Exec(ctx, `DELETE FROM uploads WHERE id = $1`, id)
	return translate(err)
}

// ExpiredUploads implements parley.AttachmentStore.
func (s *Store) ExpiredUploads(ctx context.Context, t time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM uploads WHERE expires_at < $1`, millis(t))
	if err != nil {
		return nil, translate(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err)
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

// deleteMessageAttachments marks a deleted message's files deleted.
func (w *wtx) deleteMessageAttachments(conversationID string, seq int64, at time.Time) error {
	_, err := w.tx.Exec(w.ctx, `UPDATE attachments SET deleted_at = $3 WHERE conversation_id = $1 AND seq = $2
		AND purpose = 'file' AND deleted_at IS NULL`, conversationID, seq, millis(at))
	return err
}

// UserAvatars implements parley.AttachmentStore.
func (s *Store) UserAvatars(ctx context.Context, userIDs []string) (map[string]string, error) {
	out := make(map[string]string)
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT owner_id, id FROM attachments WHERE purpose = 'avatar'
		AND conversation_id IS NULL AND deleted_at IS NULL AND owner_id = ANY($1) ORDER BY created_at`, userIDs)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner, id string
		if err := rows.Scan(&owner, &id); err != nil {
			return nil, translate(err)
		}
		out[owner] = id // the newest wins
	}
	return out, translate(rows.Err())
}
