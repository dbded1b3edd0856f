package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-chat/parley"
)

// Realtime is the set of use cases behind the WebSocket gateway: the App's
// (embedded: AuthenticateUser, SyncState, MarkRead… are the App's own) plus
// presence, typing and the connection lifecycle. It implements
// internal/gateway.Backend. Safe for concurrent use.
type Realtime struct {
	*App
	presence  parley.Presence
	typing    *Limiter
	typingTTL time.Duration
	// history bounds the socket history reads in progress: after a mass
	// reconnect every client asks for what it missed at once, and those
	// reads would otherwise queue for the store's read connections together
	// with the connect path's, delaying every client's ready frame behind
	// the others' catch-up.
	history chan struct{}
	calls   *calls // call.go
}

// HistoryReads is how many socket history reads run at once (per node).
const HistoryReads = 4

// TypingTTL is how long receivers show a typing indicator unless renewed.
const TypingTTL = 6 * time.Second

// NewRealtime returns the real-time use cases of a, tracking presence in p.
func NewRealtime(a *App, p parley.Presence) *Realtime {
	return &Realtime{
		App:      a,
		presence: p,
		// Two indicators per second per user and conversation, bursts of 3.
		typing:    NewLimiter(2, 3, a.now),
		typingTTL: TypingTTL,
		history:   make(chan struct{}, HistoryReads),
		calls:     newCalls(RingTimeout, DropGrace, a.now),
	}
}

// ConversationIDs lists the conversations whose events actor receives.
func (r *Realtime) ConversationIDs(ctx context.Context, actor parley.Actor) ([]string, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return r.App.store.ConversationIDs(ctx, actor.UserID)
}

// Send posts a message (App.SendMessageJSON) with the uploaded attachments
// attachmentIDs: created is false when clientMsgID was already used by
// actor and the original is returned; encoded is the new message's JSON.
func (r *Realtime) Send(ctx context.Context, actor parley.Actor, conversationID, clientMsgID, body string, replyTo int64,
	attachmentIDs []string, e2ee json.RawMessage) (m parley.Message, encoded []byte, created bool, err error) {
	return r.App.SendMessageJSON(ctx, actor, SendMessageInput{
		ConversationID: conversationID, ClientMsgID: clientMsgID, Body: body, ReplyTo: replyTo, AttachmentIDs: attachmentIDs,
		E2EE: e2ee,
	})
}

// History is App.History: a page of the history after or before a seq,
// for resync over the socket, with at most a bounded number of reads at
// once on this node (unavailable when ctx ends while waiting for a turn).
// A member's non-empty page is one read (App.History).
func (r *Realtime) History(ctx context.Context, actor parley.Actor, conversationID string, after, before int64, limit int) ([]parley.Message, error) {
	select {
	case r.history <- struct{}{}:
		defer func() { <-r.history }()
	case <-ctx.Done():
		return nil, parley.Errorf(parley.CodeUnavailable, "the server is busy; retry the history read")
	}
	return r.App.History(ctx, actor, conversationID, HistoryInput{After: after, Before: before, Limit: limit})
}

// Missed is App.Missed, for the ready frame of a reconnecting client,
// sharing History's bound on the reads in progress on this node
// (unavailable when ctx ends while waiting for a turn).
func (r *Realtime) Missed(ctx context.Context, actor parley.Actor, ranges []parley.SeqRange) ([]parley.Message, error) {
	if err := checkMissed(actor, ranges); err != nil {
		return nil, err // before taking a turn
	}
	select {
	case r.history <- struct{}{}:
		defer func() { <-r.history }()
	case <-ctx.Done():
		return nil, parley.Errorf(parley.CodeUnavailable, "the server is busy; retry")
	}
	return r.App.store.Missed(ctx, actor.UserID, ranges)
}
