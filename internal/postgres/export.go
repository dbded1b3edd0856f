package postgres

import (
	"context"

	"github.com/parley-chat/parley"
)

// MessagesBySender implements parley.ExportStore.
func (s *Store) MessagesBySender(ctx context.Context, senderID, afterID string, limit int) ([]parley.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE sender_id = $1 AND kind = 'user' AND id > $2
		ORDER BY id LIMIT $3`, senderID, afterID, limit)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, scanMessage)
}

// AttachmentsByOwner implements parley.ExportStore.
func (s *Store) AttachmentsByOwner(ctx context.Context, ownerID, afterID string, limit int) ([]parley.StoredAttachment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+attachmentCols+` FROM attachments
		WHERE owner_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3`, ownerID, afterID, limit)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, scanAttachment)
}
