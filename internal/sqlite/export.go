package sqlite

import (
	"context"

	"github.com/parley-chat/parley"
)

// MessagesBySender implements parley.ExportStore.
func (s *Store) MessagesBySender(ctx context.Context, senderID, afterID string, limit int) ([]parley.Message, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+messageCols+messageFrom+`WHERE m.sender_id = ? AND m.kind = 'user' AND m.id > ?
		ORDER BY m.id LIMIT ?`, senderID, afterID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, m)
	}
	return out, translate(rows.Err())
}

// AttachmentsByOwner implements parley.ExportStore.
func (s *Store) AttachmentsByOwner(ctx context.Context, ownerID, afterID string, limit int) ([]parley.StoredAttachment, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+attachmentCols+` FROM attachments
		WHERE owner_id = ? AND id > ? AND deleted_at IS NULL ORDER BY id LIMIT ?`, ownerID, afterID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.StoredAttachment{}
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, a)
	}
	return out, translate(rows.Err())
}
