package parley

import "context"

// ExportStore reads what a user's data export (GET /api/v1/me/export,
// docs/data.md) contains, a page at a time, so the export streams.
type ExportStore interface {
	// MessagesBySender returns up to limit messages written by senderID
	// (user messages, not system entries) with an id greater than afterID,
	// in id order (ids grow with time), from every conversation, deleted
	// ones (tombstones) included.
	MessagesBySender(ctx context.Context, senderID, afterID string, limit int) ([]Message, error)
	// AttachmentsByOwner returns up to limit live (not deleted) attachments
	// uploaded by ownerID with an id greater than afterID, in id order.
	AttachmentsByOwner(ctx context.Context, ownerID, afterID string, limit int) ([]StoredAttachment, error)
}
