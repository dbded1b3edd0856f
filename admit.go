package parley

import "time"

// The decisions a store takes inside its write transaction, written once.
// Stores read what a rule needs under their locks, call the rule, and write
// what it decided; they keep seq assignment, locking, batching and SQL.

// AppendHead is what a store reads of a conversation, under its lock, to
// admit appends to it.
type AppendHead struct {
	LastSeq   int64 // seq of the newest message, including this transaction's appends so far
	LastAt    int64 // the newest CreatedAt appended, Unix milliseconds (never decreases)
	Broadcast bool
	// LastUser and LastUserAt are the sender and CreatedAt (Unix ms) of the
	// newest user message, "" and 0 before the first: the previous message
	// of the response-time rule (responsetime.go).
	LastUser   string
	LastUserAt int64
}

// ErrConversationNotFound is the refusal of an unknown conversation, and of
// a sender who is not a member (its existence is private to them).
func ErrConversationNotFound() *Error {
	return &Error{Code: CodeNotFound, Message: "conversation not found"}
}

// ErrMessageNotFound is the refusal of a missing (or, where a live message
// is needed, deleted) message.
func ErrMessageNotFound() *Error { return &Error{Code: CodeNotFound, Message: "message not found"} }

// AdmitAppend decides whether m may be appended to the conversation whose
// head is h, in this order:
//
//  1. check == CheckMember: role is the sender's role ("" when not a
//     member: CodeNotFound); in a Broadcast conversation only managers post
//     (CodeForbidden).
//  2. prev, when not nil, is the earlier message with m's (SenderID,
//     ClientMsgID), committed or earlier in the batch: m is a resend, and
//     *m becomes prev (fresh=false) unless prev belongs to another
//     conversation (CodeConflict, field client_msg_id).
//  3. ReplyTo is 0 or the seq of an existing message (CodeInvalid, field
//     reply_to).
//
// fresh=true means m is to be written (after ClaimAttachments, if it
// carries files).
func AdmitAppend(h AppendHead, check AppendCheck, role MemberRole, m *Message, prev *Message) (fresh bool, err error) {
	if check == CheckMember {
		if role == "" {
			return false, ErrConversationNotFound()
		}
		if h.Broadcast && !role.Manager() {
			return false, Errorf(CodeForbidden, "only owners and admins post in this broadcast channel")
		}
	}
	if prev != nil {
		return false, Resend(m, *prev)
	}
	if m.ReplyTo < 0 || m.ReplyTo > h.LastSeq {
		return false, Invalid("reply_to", "reply_to %d is not a message of this conversation", m.ReplyTo)
	}
	return true, nil
}

// Resend replaces *m with prev, the earlier message with the same
// (SenderID, ClientMsgID), or refuses with CodeConflict (field
// client_msg_id) when prev lives in another conversation.
func Resend(m *Message, prev Message) error {
	if prev.ConversationID != m.ConversationID {
		return &Error{Code: CodeConflict, Field: "client_msg_id",
			Message: "client_msg_id was already used for a message in another conversation"}
	}
	*m = prev
	return nil
}

// ClaimAttachments claims m's files from free (file id → owner id: the
// unsent, undeleted files a store found under its lock). Every file must be
// in free and owned by the sender, else CodeInvalid (field attachment_ids)
// and free is left as it was. Claimed files leave free, so one batch cannot
// bind a file to two messages.
func ClaimAttachments(m Message, free map[string]string) error {
	for i, a := range m.Attachments {
		if owner, ok := free[a.ID]; !ok || owner != m.SenderID {
			for _, b := range m.Attachments[:i] {
				free[b.ID] = m.SenderID // give back
			}
			return Invalid("attachment_ids", "attachment %s is not an unsent file of yours", a.ID)
		}
		delete(free, a.ID)
	}
	return nil
}

// Appended stamps m as stored with seq, the seq the store assigned: stores
// keep CreatedAt to the millisecond (UTC), and a new message has no
// reactions, edit or tombstone. It advances h to m.
func Appended(h *AppendHead, m *Message, seq int64) {
	at := m.CreatedAt.UnixMilli()
	m.Seq = seq
	m.CreatedAt = time.UnixMilli(at).UTC()
	m.Reactions, m.EditedAt, m.Deleted = nil, nil, false
	h.LastSeq, h.LastAt = seq, max(h.LastAt, at)
	h.respond(m, at)
}

// LiveMessage refuses a tombstone where a live message is needed (edits,
// reactions) with CodeNotFound.
func LiveMessage(m Message) error {
	if m.Deleted {
		return ErrMessageNotFound()
	}
	return nil
}

// AdmitReaction decides whether an emoji may be added to a message that
// carries distinct different emoji, present of which is this one: a new
// emoji beyond maxEmoji is CodeTooLarge (field emoji).
func AdmitReaction(distinct int, present bool, maxEmoji int) error {
	if !present && distinct >= maxEmoji {
		return TooLarge("emoji", "a message carries at most %d different reactions", maxEmoji)
	}
	return nil
}

// AddReaction adds one (emoji, user) pair to a reaction summary, keeping
// emoji in first-reacted order. Stores build summaries from rows ordered by
// reaction time.
func AddReaction(rs []Reaction, emoji, user string) []Reaction {
	for i := range rs {
		if rs[i].Emoji == emoji {
			rs[i].Count++
			rs[i].UserIDs = append(rs[i].UserIDs, user)
			return rs
		}
	}
	return append(rs, Reaction{Emoji: emoji, Count: 1, UserIDs: []string{user}})
}
