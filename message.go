package parley

import "time"

// MessageKind distinguishes user messages from system events recorded in history.
type MessageKind string

const (
	MessageUser   MessageKind = "user"
	MessageSystem MessageKind = "system" // membership changes, title changes…
)

// Message is one entry of a conversation's history. Within a conversation, Seq
// is 1, 2, 3… in commit order with no gaps; deleted messages stay as
// tombstones (Deleted, empty Body) so the sequence stays gap-free. The JSON
// form is the same on REST, in WebSocket frames and in history.
type Message struct {
	ID             string      `json:"id"`
	ConversationID string      `json:"conversation_id"`
	Seq            int64       `json:"seq"`
	SenderID       string      `json:"sender_id"`
	ClientMsgID    string      `json:"client_msg_id,omitempty"`
	Kind           MessageKind `json:"kind"`
	Body           string      `json:"body"`
	ReplyTo        int64       `json:"reply_to,omitempty"` // seq of the message replied to
	Mentions       []string    `json:"mentions,omitempty"` // user ids
	Reactions      []Reaction  `json:"reactions,omitempty"`
	CreatedAt      time.Time   `json:"created_at"`
	EditedAt       *time.Time  `json:"edited_at,omitempty"`
	Deleted        bool        `json:"deleted,omitempty"`
}

// Reaction summarises one emoji on one message.
type Reaction struct {
	Emoji   string   `json:"emoji"`
	Count   int      `json:"count"`
	UserIDs []string `json:"user_ids"`
}

// MessageStore persists messages. See internal/storetest for the contract.
type MessageStore interface {
}
