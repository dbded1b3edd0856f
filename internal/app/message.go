package app

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// Message input limits.
const (
	MaxClientMsgIDBytes = 64 // client_msg_id length
	MaxMentions         = 50 // distinct @usernames resolved per message
)

// SendMessageInput is one message to post. ClientMsgID is required and
// makes the send idempotent per sender; ReplyTo is 0 or the seq of a message
// of the same conversation.
type SendMessageInput struct {
	ConversationID string
	ClientMsgID    string
	Body           string
	ReplyTo        int64
	// AttachmentIDs are files the sender uploaded (attachment.go) and has
	// not sent yet; with at least one, Body may be empty (no caption).
	AttachmentIDs []string
	// E2EE is the envelope of a message to an encrypted conversation
	// (docs/e2ee.md §3): then Body is empty, and AttachmentIDs may name
	// client-side encrypted blobs (application/octet-stream) the message
	// binds, so members can fetch them. It is required there and refused
	// elsewhere.
	E2EE json.RawMessage
}

// HistoryInput selects a page of history: Before > 0 gives the messages
// before that seq, newest first; Latest (with Before and After 0) gives the
// newest messages, newest first, like a Before page from the end; otherwise
// the messages after After (0: from the start), oldest first. Limit 0 means
// DefaultPageLimit.
type HistoryInput struct {
	Before int64
	After  int64
	Latest bool
	Limit  int
}

// newSendLimiter allows each user MessagesPerUserSecond sustained, with
// bursts of twice that (at least 10).
func newSendLimiter(l Limits, now func() time.Time) *Limiter {
	burst := int(math.Max(10, 2*l.MessagesPerUserSecond))
	return NewLimiter(l.MessagesPerUserSecond, burst, now)
}

// checkBody checks a message body of a member of organisation org (its
// character limit comes from the organisation cache: no query).
func (a *App) checkBody(ctx context.Context, org, body string) error {
	if !utf8.ValidString(body) {
		return parley.Invalid("body", "body must be valid UTF-8")
	}
	if strings.ContainsRune(body, 0) {
		return parley.Invalid("body", "body must not contain NUL characters")
	}
	if strings.TrimSpace(body) == "" {
		return parley.Invalid("body", "body must not be empty")
	}
	if limit := a.maxMessageChars(ctx, org); utf8.RuneCountInString(body) > limit {
		return parley.TooLarge("body", "body must be at most %d characters (got %d)", limit, utf8.RuneCountInString(body))
	}
	return nil
}

func checkClientMsgID(id string) error {
	if id == "" {
		return parley.Invalid("client_msg_id", "client_msg_id is required (any unique string per message, e.g. a UUID)")
	}
	if len(id) > MaxClientMsgIDBytes {
		return parley.TooLarge("client_msg_id", "client_msg_id must be at most %d bytes", MaxClientMsgIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return parley.Invalid("client_msg_id", "client_msg_id must be printable ASCII without spaces")
		}
	}
	return nil
}

// SendMessage posts a message to a conversation the actor is a member of and
// returns the stored message. created is false when actor already sent a
// message with this ClientMsgID: that message is returned and nothing is
// written. The call returns only after the message is durably committed;
// the `message` event is published before it returns.
//
// Errors: unauthenticated; invalid (conversation_id, client_msg_id, body,
// reply_to); too_large (body, client_msg_id); not_found (not a member of a
// private conversation); forbidden (non-member of a public channel,
// non-admin in a broadcast channel); conflict (client_msg_id already used
// in another conversation); rate_limited.
func (a *App) SendMessage(ctx context.Context, actor parley.Actor, in SendMessageInput) (parley.Message, bool, error) {
	m, _, created, err := a.SendMessageJSON(ctx, actor, in)
	return m, created, err
}

// SendMessageJSON is SendMessage that also returns, when the message was
// created, its JSON encoding exactly as the `message` event carries it, so a
// transport can answer with it without encoding it again. It is nil for a
// resend (created false) and on error.
func (a *App) SendMessageJSON(ctx context.Context, actor parley.Actor, in SendMessageInput) (parley.Message, []byte, bool, error) {
	if actor.Anonymous() {
		return parley.Message{}, nil, false, unauthenticated("sign in first")
	}
	if err := checkConversationID(in.ConversationID); err != nil {
		return parley.Message{}, nil, false, err
	}
	if err := checkClientMsgID(in.ClientMsgID); err != nil {
		return parley.Message{}, nil, false, err
	}
	in.E2EE = envelopeOrNil(in.E2EE)
	if in.E2EE != nil {
		if in.Body != "" {
			return parley.Message{}, nil, false, parley.Invalid("body",
				"an encrypted message carries its text inside the e2ee envelope: body must be empty")
		}
	} else if len(in.AttachmentIDs) == 0 || in.Body != "" {
		if err := a.checkBody(ctx, actor.Org, in.Body); err != nil {
			return parley.Message{}, nil, false, err
		}
	}
	if in.ReplyTo < 0 {
		return parley.Message{}, nil, false, parley.Invalid("reply_to", "reply_to must be the seq of a message")
	}
	if ok, wait := a.sends.Allow(actor.UserID); !ok {
		return parley.Message{}, nil, false, &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait,
			Message: "you are sending messages too fast"}
	}
	body, slow, err := a.admitPost(ctx, actor, in.ConversationID, in.Body, len(in.AttachmentIDs), in.E2EE) // moderation.go
	if err != nil {
		if prev, perr := a.store.MessageByClientID(ctx, actor.UserID, in.ClientMsgID); perr == nil &&
			prev.ConversationID == in.ConversationID {
			return prev, nil, false, nil // a resend of a message sent before the refusing rule applied
		}
		if errors.Is(err, parley.ErrHeld) {
			err = a.hold(ctx, actor, in) // report.go
		}
		return parley.Message{}, nil, false, err
	}
	in.Body = body
	mentions, err := a.mentions(ctx, in.ConversationID, in.Body)
	if err != nil {
		return parley.Message{}, nil, false, err
	}
	attachments, err := a.attachmentsFor(ctx, actor, in.AttachmentIDs)
	if err != nil {
		if prev, perr := a.store.MessageByClientID(ctx, actor.UserID, in.ClientMsgID); perr == nil &&
			prev.ConversationID == in.ConversationID {
			return prev, nil, false, nil // a resend of a message whose files are sent already
		}
		return parley.Message{}, nil, false, err
	}
	if in.E2EE != nil {
		if err := checkEncryptedBlobs(attachments); err != nil {
			return parley.Message{}, nil, false, err
		}
	}
	m := parley.Message{ID: parley.NewID(), ConversationID: in.ConversationID, SenderID: actor.UserID,
		ClientMsgID: in.ClientMsgID, Kind: parley.MessageUser, Body: in.Body, ReplyTo: in.ReplyTo,
		Mentions: mentions, Attachments: attachments, CreatedAt: a.now().UTC().Truncate(time.Millisecond), E2EE: in.E2EE}
	var enc []byte // set by the commit hook, before AppendMessage returns
	m, created, err := a.store.AppendMessage(ctx, m, parley.CheckMember, func(m parley.Message) {
		enc = a.publishMessage(parley.EventMessage, m)
		a.countMessage(m)
	})
	if parley.IsCode(err, parley.CodeNotFound) {
		// Not a member (or no such conversation): say "forbidden" only where
		// the conversation's existence is public.
		if c, cerr := a.store.Conversation(ctx, in.ConversationID); cerr == nil && c.Public {
			return parley.Message{}, nil, false, forbidden("join the channel first")
		}
		return parley.Message{}, nil, false, notFoundConversation()
	}
	if err != nil || !created {
		return m, nil, created, err
	}
	if slow {
		if err := a.store.TouchPost(ctx, m.ConversationID, actor.UserID, m.CreatedAt); err != nil {
			a.log.Warn("slow mode clock not advanced", "conversation_id", m.ConversationID, "user_id", actor.UserID, "err", err)
		}
	}
	return m, enc, true, nil
}

// mentions resolves the @usernames in body to the ids of users who are
// members of the conversation, in order of first mention, without
// duplicates. Unknown names and non-members are ignored.
func (a *App) mentions(ctx context.Context, convID, body string) ([]string, error) {
	names := ParseMentions(body)
	if len(names) == 0 {
		return nil, nil
	}
	var ids []string
	for _, name := range names {
		u, err := a.store.UserByUsername(ctx, name)
		if parley.IsCode(err, parley.CodeNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := a.store.Member(ctx, convID, u.ID); err == nil {
			ids = append(ids, u.ID)
		} else if !parley.IsCode(err, parley.CodeNotFound) {
			return nil, err
		}
	}
	return ids, nil
}

// ParseMentions returns the canonical usernames mentioned in body as
// "@name": '@' at the start or after a character that cannot be part of a
// username (or an e-mail address), followed by a valid username; trailing
// '.', '-' and '_' are not part of the name ("thanks @bob." mentions bob).
// At most MaxMentions distinct names, in order of first mention.
func ParseMentions(body string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(body) && len(out) < MaxMentions; i++ {
		if body[i] != '@' {
			continue
		}
		if i > 0 && (usernameByte(body[i-1]) || body[i-1] == '@') {
			continue
		}
		j := i + 1
		for j < len(body) && usernameByte(body[j]) {
			j++
		}
		name := strings.TrimRight(body[i+1:j], "._-")
		i = j - 1
		canon, err := parley.CanonicalUsername(name)
		if err != nil || seen[canon] {
			continue
		}
		seen[canon] = true
		out = append(out, canon)
	}
	return out
}

func usernameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// History returns a page of a conversation's history to a member (see
// HistoryInput). Errors: unauthenticated, invalid/too_large (before, after,
// limit), not_found, forbidden (non-member of a public channel).
//
// A member's page is read with the membership condition inside the page's
// statement (parley.HistoryQuery.Member): one read. An empty page costs one
// membership read more, to tell a member's empty page from a non-member's;
// anyone else, and any input error, takes the conversation and membership
// reads of App.member first, so a non-member gets its not_found or
// forbidden before any input error.
func (a *App) History(ctx context.Context, actor parley.Actor, convID string, in HistoryInput) ([]parley.Message, error) {
	if !actor.Anonymous() && parley.ValidID(convID) {
		ms, err := a.historyPage(ctx, convID, actor.UserID, in)
		if err == nil && len(ms) > 0 {
			return ms, nil
		}
		if err == nil {
			if _, err := a.store.Member(ctx, convID, actor.UserID); err == nil {
				return ms, nil
			}
		}
	}
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return nil, err
	}
	return a.historyPage(ctx, convID, "", in)
}

// historyPage is History after the membership check, or (member not empty)
// with it: the page is empty unless member is a member (parley.HistoryQuery.Member).
func (a *App) historyPage(ctx context.Context, convID, member string, in HistoryInput) ([]parley.Message, error) {
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Before < 0:
		return nil, parley.Invalid("before", "before must be a positive seq")
	case in.After < 0:
		return nil, parley.Invalid("after", "after must not be negative")
	case in.Before > 0 && in.After > 0:
		return nil, parley.Invalid("before", "give before or after, not both")
	case in.Latest && (in.Before > 0 || in.After > 0):
		return nil, parley.Invalid("before", "the latest page takes neither before nor after")
	case in.Latest:
		in.Before = math.MaxInt64
	}
	return a.store.History(ctx, convID, parley.HistoryQuery{Before: in.Before, After: in.After, Limit: limit, Member: member})
}

// Message returns one message to a member. Errors: as History, and
// not_found for a seq that does not exist.
func (a *App) Message(ctx context.Context, actor parley.Actor, convID string, seq int64) (parley.Message, error) {
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return parley.Message{}, err
	}
	return a.message(ctx, convID, seq)
}

func (a *App) message(ctx context.Context, convID string, seq int64) (parley.Message, error) {
	if seq <= 0 {
		return parley.Message{}, parley.Invalid("seq", "seq must be positive")
	}
	m, err := a.store.Message(ctx, convID, seq)
	if parley.IsCode(err, parley.CodeNotFound) {
		return m, parley.Errorf(parley.CodeNotFound, "message not found")
	}
	return m, err
}

// MessageVersions returns the earlier bodies of an edited message, oldest
// first, to a member.
func (a *App) MessageVersions(ctx context.Context, actor parley.Actor, convID string, seq int64) ([]parley.MessageVersion, error) {
	if _, err := a.Message(ctx, actor, convID, seq); err != nil {
		return nil, err
	}
	return a.store.MessageVersions(ctx, convID, seq)
}

// EditMessage replaces the body of actor's own message (mentions are parsed
// again; the previous version is kept) and publishes message_edited.
// Errors: unauthenticated; invalid/too_large (body, seq); not_found
// (conversation, or a missing or deleted message); forbidden (someone
// else's message, or a system message).
func (a *App) EditMessage(ctx context.Context, actor parley.Actor, convID string, seq int64, body string) (parley.Message, error) {
	return a.EditMessageE2EE(ctx, actor, convID, seq, body, nil)
}

// EditMessageE2EE is EditMessage for either kind of conversation: in an
// encrypted one, env is the new envelope (required) and body must be empty;
// elsewhere env must be nil. An encrypted message keeps no earlier version.
func (a *App) EditMessageE2EE(ctx context.Context, actor parley.Actor, convID string, seq int64, body string, env json.RawMessage) (parley.Message, error) {
	env = envelopeOrNil(env)
	c, _, err := a.member(ctx, actor, convID)
	if err != nil {
		return parley.Message{}, err
	}
	if err := checkEncryptedInput(c.Encrypted, body, env); err != nil {
		return parley.Message{}, err
	}
	if c.Encrypted {
		if err := a.checkEnvelope(ctx, actor, c.Kind, env); err != nil {
			return parley.Message{}, err
		}
	} else if err := a.checkBody(ctx, actor.Org, body); err != nil {
		return parley.Message{}, err
	}
	m, err := a.message(ctx, convID, seq)
	if err != nil {
		return m, err
	}
	if m.Deleted {
		return parley.Message{}, parley.Errorf(parley.CodeNotFound, "message not found")
	}
	if m.Kind != parley.MessageUser || m.SenderID != actor.UserID {
		return parley.Message{}, forbidden("only the author edits a message")
	}
	if body, err = a.admitEdit(ctx, actor, convID, body); err != nil {
		return parley.Message{}, err
	}
	mentions, err := a.mentions(ctx, convID, body)
	if err != nil {
		return parley.Message{}, err
	}
	m, err = a.store.EditMessage(ctx, convID, seq, body, mentions, env, a.now().UTC(), func(m parley.Message) {
		a.publishMessage(parley.EventMessageEdited, m)
	})
	if parley.IsCode(err, parley.CodeNotFound) {
		return m, parley.Errorf(parley.CodeNotFound, "message not found")
	}
	return m, err
}

// DeleteMessage turns a message into a tombstone (its seq stays) and
// publishes message_deleted. The author or an owner/admin of the
// conversation may delete a user message; system messages stay. Deleting a
// deleted message returns the tombstone again.
// Errors: unauthenticated, invalid (seq), not_found, forbidden.
func (a *App) DeleteMessage(ctx context.Context, actor parley.Actor, convID string, seq int64) (parley.Message, error) {
	_, me, err := a.member(ctx, actor, convID)
	if err != nil {
		return parley.Message{}, err
	}
	m, err := a.message(ctx, convID, seq)
	if err != nil {
		return m, err
	}
	if m.Kind != parley.MessageUser {
		return parley.Message{}, forbidden("system messages cannot be deleted")
	}
	if m.SenderID != actor.UserID && !me.Role.Manager() {
		return parley.Message{}, forbidden("only the author or an owner or admin deletes a message")
	}
	if m.Deleted {
		return m, nil
	}
	d, err := a.store.DeleteMessage(ctx, convID, seq, a.now().UTC(), func(m parley.Message) {
		a.publishMessage(parley.EventMessageDeleted, m)
	})
	if err == nil && m.SenderID != actor.UserID { // a moderator's deletion
		name := ""
		if u, err := a.store.User(ctx, m.SenderID); err == nil {
			name = u.Username
		}
		a.auditIn(ctx, actor, convID, "conversation.delete_message", m.SenderID, name, "conversation "+convID+"; seq "+itoa(seq))
	}
	return d, err
}
