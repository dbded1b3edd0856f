package parley

import (
	"context"
	"encoding/json"
	"time"
)

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
	System         *SystemInfo `json:"system,omitempty"` // set on MessageSystem entries
	CreatedAt      time.Time   `json:"created_at"`
	EditedAt       *time.Time  `json:"edited_at,omitempty"`
	Deleted        bool        `json:"deleted,omitempty"`
	// Attachments are the files the message carries (blob.go); a deleted
	// message has none.
	Attachments []Attachment `json:"attachments,omitempty"`
	// responseGap is set by Appended: 1 + the response time in ms when the
	// message is a response (see ResponseGap), else 0. Never stored or sent.
	responseGap int64
	// E2EE is the end-to-end encrypted envelope of a message of an
	// encrypted conversation (Body is then empty), stored and relayed
	// verbatim; the server checks only its shape (ParseEnvelope).
	E2EE json.RawMessage `json:"e2ee,omitempty"`
}

// SystemAction names what a system message records.
type SystemAction string

const (
	SystemCreated        SystemAction = "created"              // UserIDs: the initial members
	SystemMembersAdded   SystemAction = "members_added"        // ActorID added UserIDs (ActorID joined, for a self-join)
	SystemMemberLeft     SystemAction = "member_left"          // UserIDs[0] left
	SystemMemberRemoved  SystemAction = "member_removed"       // ActorID removed UserIDs[0]
	SystemRoleChanged    SystemAction = "role_changed"         // ActorID gave UserIDs[0] Role
	SystemOwnerChanged   SystemAction = "owner_changed"        // UserIDs[0] became owner when the last owner left
	SystemConversationUp SystemAction = "conversation_updated" // ActorID changed Title/Topic/AvatarURL
	SystemCall           SystemAction = "call"                 // ActorID called UserIDs[0]; Call is the record
)

// SystemInfo is the machine-readable content of a system message; clients
// render it (Body is empty).
type SystemInfo struct {
	Action  SystemAction `json:"action"`
	ActorID string       `json:"actor_id,omitempty"`
	UserIDs []string     `json:"user_ids,omitempty"`
	Role    MemberRole   `json:"role,omitempty"`
	Title   *string      `json:"title,omitempty"`
	Topic   *string      `json:"topic,omitempty"`
	Call    *CallSummary `json:"call,omitempty"`   // SystemCall only
	Reason  string       `json:"reason,omitempty"` // moderation actions: the moderator's reason
	Until   *time.Time   `json:"until,omitempty"`  // member_muted: when the mute ends
}

// Reaction summarises one emoji on one message.
type Reaction struct {
	Emoji   string   `json:"emoji"`
	Count   int      `json:"count"`
	UserIDs []string `json:"user_ids"`
}

// MessageVersion is an earlier body of an edited message.
type MessageVersion struct {
	Body     string    `json:"body"`
	Mentions []string  `json:"mentions,omitempty"`
	Until    time.Time `json:"until"` // when it was replaced
}

// AppendCheck is the authorization a store re-checks atomically inside the
// append transaction, so that a member removed a moment before cannot post.
type AppendCheck int

const (
	// CheckNone appends unconditionally (system messages).
	CheckNone AppendCheck = iota
	// CheckMember requires the sender to be a current member (else
	// CodeNotFound) and, in a Broadcast conversation, an owner or admin
	// (else CodeForbidden).
	CheckMember
)

// HistoryQuery selects a page of history. With Before > 0: the messages with
// seq < Before, newest first. With After >= 0 and Before == 0: the messages
// with seq > After, oldest first. Limit bounds the page (the caller clamps it).
//
// Member, when not empty, makes the page conditional on that user being a
// member of the conversation in the same read: if they are not (never were,
// or were removed by a commit the read sees), the page is empty. It lets a
// member's read skip a separate membership read while staying exact: no
// page is returned once the removal has committed.
type HistoryQuery struct {
	Before int64
	After  int64
	Limit  int
	Member string
}

// SeqRange names the messages of one conversation with After < seq <= Until.
type SeqRange struct {
	ConversationID string
	After, Until   int64
}

// MessageStore persists messages. See internal/storetest for the contract.
//
// notify functions are commit hooks as described on ConversationStore.
type MessageStore interface {
	// AppendMessage stores m as the next message of m.ConversationID: the
	// store assigns Seq (LastSeq+1, gap-free in commit order) and keeps m's
	// ID, SenderID, Kind, Body, ReplyTo, Mentions, System, Attachments and
	// CreatedAt. Each attachment must be an unsent, undeleted file of the
	// sender (else CodeInvalid, field attachment_ids); the append binds it
	// to the message atomically, and DeleteMessage marks it deleted.
	// Concurrent appends may share one transaction (group commit); the
	// method returns only after the commit is durable. Once the append's
	// place in the commit order is fixed it calls Queued(ctx): an append
	// called after that commits after this one (pipelining, order.go).
	//
	// Idempotency: if m.ClientMsgID is non-empty and a message with the same
	// (SenderID, ClientMsgID) exists — committed earlier or in the same
	// batch — nothing is written and that message is returned with
	// created=false (CodeConflict if it belongs to another conversation).
	// notify is called only when created.
	//
	// Errors: CodeNotFound for an unknown conversation or (check) a
	// non-member sender, CodeForbidden (check) for a non-admin in a
	// broadcast conversation, CodeInvalid (field reply_to) when ReplyTo is
	// not an existing seq of the same conversation.
	AppendMessage(ctx context.Context, m Message, check AppendCheck, notify func(Message)) (Message, bool, error)
	// Message returns one message with its reactions. CodeNotFound.
	Message(ctx context.Context, conversationID string, seq int64) (Message, error)
	// MessageByClientID returns the sender's message with that client id. CodeNotFound.
	MessageByClientID(ctx context.Context, senderID, clientMsgID string) (Message, error)
	// History returns a page of messages with their reactions (see HistoryQuery).
	History(ctx context.Context, conversationID string, q HistoryQuery) ([]Message, error)
	// Missed returns, in one read, the messages of several conversations
	// with their reactions: for each range in the order given, its
	// messages oldest first — of the conversations member is a member of
	// when the read happens; another conversation's range gives nothing,
	// as does an unknown one, and ranges that overlap each give theirs.
	// The caller bounds the ranges (their number and Until-After).
	Missed(ctx context.Context, member string, ranges []SeqRange) ([]Message, error)
	// EditMessage replaces the body and mentions of a live message, keeps
	// the previous version and sets EditedAt. CodeNotFound if the message
	// does not exist or is deleted.
	// e2ee replaces the envelope of a message of an encrypted conversation
	// (nil otherwise).
	EditMessage(ctx context.Context, conversationID string, seq int64, body string, mentions []string, e2ee json.RawMessage, at time.Time,
		notify func(Message)) (Message, error)
	// MessageVersions returns the earlier versions of a message, oldest first.
	MessageVersions(ctx context.Context, conversationID string, seq int64) ([]MessageVersion, error)
	// DeleteMessage turns a message into a tombstone: Deleted, empty Body, no
	// mentions, reactions or earlier versions; Seq is kept. Deleting a
	// tombstone again is a no-op that returns it. CodeNotFound.
	DeleteMessage(ctx context.Context, conversationID string, seq int64, at time.Time,
		notify func(Message)) (Message, error)
	// React adds (add=true) or removes userID's emoji on a live message and
	// returns the message's reactions after the change. Adding is
	// idempotent; removing an absent reaction is a no-op. Adding a new emoji
	// when the message already carries maxEmoji distinct emoji is
	// CodeTooLarge (field emoji). CodeNotFound for a missing or deleted message.
	// notify is called only when the reactions changed (not for an existing
	// reaction added again or an absent one removed).
	React(ctx context.Context, conversationID string, seq int64, userID, emoji string, add bool, maxEmoji int,
		at time.Time, notify func([]Reaction)) ([]Reaction, error)
}

// ForEachConversation calls fn once per conversation of ms, in order of first
// appearance, with that conversation's messages in their order in ms, and
// writes the messages fn leaves back into ms. It stops at fn's first error.
// Stores use it for per-conversation reads over a mixed result (search).
func ForEachConversation(ms []Message, fn func(sub []Message) error) error {
	groups := map[string][]int{}
	var order []string
	for i, m := range ms {
		if _, ok := groups[m.ConversationID]; !ok {
			order = append(order, m.ConversationID)
		}
		groups[m.ConversationID] = append(groups[m.ConversationID], i)
	}
	for _, id := range order {
		idx := groups[id]
		sub := make([]Message, len(idx))
		for j, i := range idx {
			sub[j] = ms[i]
		}
		if err := fn(sub); err != nil {
			return err
		}
		for j, i := range idx {
			ms[i] = sub[j]
		}
	}
	return nil
}
