package parley

import (
	"context"
	"time"
)

// RetentionPolicy says how long a conversation keeps its messages
// (docs/data.md): messages older than Days are deleted for good — history,
// reactions, edit history, search index, and their files — on a schedule.
// LegalHold (set by admins) suspends deletion.
type RetentionPolicy struct {
	ConversationID string    `json:"conversation_id"`
	Days           int       `json:"days"` // 0: keep forever
	LegalHold      bool      `json:"legal_hold"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// RetentionMaxDays bounds a policy (10 years).
const RetentionMaxDays = 3650

// RetentionStore persists retention policies and purges history.
type RetentionStore interface {
	// Retention returns a conversation's policy; a conversation without one
	// has the zero policy (Days 0, no hold) and no error.
	Retention(ctx context.Context, conversationID string) (RetentionPolicy, error)
	// SetRetentionDays sets Days, keeping LegalHold. CodeNotFound for an
	// unknown conversation.
	SetRetentionDays(ctx context.Context, conversationID string, days int, at time.Time) error
	// SetLegalHold sets LegalHold, keeping Days. CodeNotFound likewise.
	SetLegalHold(ctx context.Context, conversationID string, hold bool, at time.Time) error
	// DueRetention lists the policies with Days > 0 and no legal hold.
	DueRetention(ctx context.Context) ([]RetentionPolicy, error)
	// PurgeHistory deletes, in one transaction, every message of the
	// conversation created before `before` with everything hanging off it
	// (reactions, earlier versions, search index rows), and marks the files
	// those messages carried deleted at `at` (the media sweep then removes
	// unreferenced blobs). It deletes nothing while the conversation is on
	// legal hold. The conversation's newest seq is kept, so seqs never
	// repeat. It returns how many messages it deleted.
	PurgeHistory(ctx context.Context, conversationID string, before, at time.Time) (int, error)
}
