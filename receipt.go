package parley

import "context"

// Receipt is one member's delivery and read position in one conversation:
// every message with seq ≤ DeliveredSeq has reached one of their devices, and
// every message with seq ≤ ReadSeq has been read. Both only ever grow, and
// ReadSeq ≤ DeliveredSeq ≤ the conversation's LastSeq always holds (marking a
// message read marks it delivered too).
type Receipt struct {
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	DeliveredSeq   int64  `json:"delivered_seq"`
	ReadSeq        int64  `json:"read_seq"`
}

// ConversationState is what a reconnecting client needs to resync one
// conversation: its newest seq and the caller's own receipts. A client that
// holds every message up to h fetches the messages after h up to LastSeq.
type ConversationState struct {
	ConversationID string `json:"conversation_id"`
	LastSeq        int64  `json:"last_seq"`
	DeliveredSeq   int64  `json:"delivered_seq"`
	ReadSeq        int64  `json:"read_seq"`
}

// ReceiptStore persists receipts on the members table and answers the
// cheap queries that resync and presence need.
type ReceiptStore interface {
	// AdvanceReceipt raises the member's DeliveredSeq to at least delivered
	// and ReadSeq to at least read (read also raises DeliveredSeq), never
	// lowering either and never beyond the conversation's LastSeq (values
	// above it are clamped). It returns the receipt after the write and
	// whether anything changed. CodeNotFound if userID is not a member.
	AdvanceReceipt(ctx context.Context, conversationID, userID string, delivered, read int64) (Receipt, bool, error)
	// Receipts lists every member's receipt in a conversation, by user id.
	Receipts(ctx context.Context, conversationID string) ([]Receipt, error)
	// ConversationStates returns one state per conversation userID is a
	// member of, in no particular order, in one query.
	ConversationStates(ctx context.Context, userID string) ([]ConversationState, error)
	// SharedUsers returns those of candidates who share at least one
	// conversation with userID (userID itself included if listed).
	SharedUsers(ctx context.Context, userID string, candidates []string) ([]string, error)
}
