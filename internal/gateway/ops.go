package gateway

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/parley-chat/parley"
)

// authenticate handles the auth frame: on success the connection joins the
// hub and its first frame is ready; on failure it gets an error frame and
// closes. See docs/protocol.md "Resync" for why the order below matters.
func (c *Conn) authenticate(f ClientFrame) bool {
	g := c.g
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.OpTimeout)
	defer cancel()
	if f.Token == "" {
		c.fail(f.Ref, parley.Invalid("token", "token is required"), string(parley.CodeUnauthenticated))
		return false
	}
	actor, user, err := g.be.AuthenticateUser(ctx, f.Token)
	if err != nil {
		reason := string(parley.ErrorCode(err))
		if parley.IsCode(err, parley.CodeInvalid) {
			reason = string(parley.CodeUnauthenticated)
		}
		c.fail(f.Ref, err, reason)
		return false
	}
	c.mu.Lock()
	c.actor = actor
	c.mu.Unlock()
	// 1. Join the user index first, so membership changes from now on reach
	//    this connection; 2. hold output; 3. subscribe to the conversations;
	// 4. take the sync snapshot *after* subscribing: every message beyond
	//    the snapshot's last_seq is then delivered live, and every one up to
	//    it is in the store for the client to fetch. Membership events
	//    that arrive while 3 and 4 run are applied again after them
	//    (beginSync, endSync): a removal that committed after the ids were
	//    read must not leave the subscription step 3 makes.
	c.hold()
	c.beginSync()
	g.hub.addUser(c)
	g.metrics.AddConnections(1)
	// A revocation that raced with the token check: either its event saw
	// this connection in the hub, or it is remembered here.
	if g.recentlyRevoked(actor) {
		err = parley.Errorf(parley.CodeUnauthenticated, "the session was revoked")
	}
	var ids []string
	if err == nil {
		ids, err = g.be.ConversationIDs(ctx, actor)
	}
	if err == nil {
		for _, id := range ids {
			c.subscribe(id)
		}
	}
	var states []parley.ConversationState
	if err == nil {
		states, err = g.be.SyncState(ctx, actor)
	}
	if err != nil {
		g.hub.removeUser(c)
		g.metrics.AddConnections(-1)
		c.unsubscribeAll()
		c.release(nil)
		c.fail(f.Ref, err, string(parley.ErrorCode(err)))
		return false
	}
	for _, s := range states {
		c.subscribe(s.ConversationID)
	}
	c.endSync()
	if states == nil {
		states = []parley.ConversationState{}
	}
	missed := c.missed(ctx, f.Since, states)
	g.be.Connected(ctx, actor)
	cfg := &g.cfg
	c.release(encodeReady(readyFrame{
		readyHead: readyHead{
			Type: "ready", Ref: f.Ref, User: user, SessionID: actor.SessionID, ConnID: c.ConnID(),
			ServerTime: time.Now().UTC(),
			Limits: Limits{
				MaxFrameBytes: cfg.MaxFrameBytes, MaxMessageChars: cfg.MaxMessageChars,
				PingIntervalMS: cfg.PingInterval.Milliseconds(), TypingTTLMS: cfg.TypingTTL.Milliseconds(),
				QueueFrames: cfg.QueueFrames, OpsPerSecond: cfg.OpsPerSecond, OpsBurst: cfg.OpsBurst,
			},
		},
		Conversations: states,
		Messages:      missed,
	}))
	return true
}

// missed reads, for the ready frame, the messages after since in each
// conversation of states that since names and that has newer ones: up to
// ReadyMessagesPerConversation each and ReadyMessages in all, none beyond
// the conversation's last_seq in states (those are delivered live), all in
// one read (Backend.Missed). It returns their JSON array, or nil when there
// are none or the read fails: the client then reads them with history
// frames.
func (c *Conn) missed(ctx context.Context, since map[string]int64, states []parley.ConversationState) json.RawMessage {
	if len(since) == 0 {
		return nil
	}
	var buf [16]parley.SeqRange
	ranges := buf[:0]
	room := int64(ReadyMessages)
	for _, s := range states {
		have, ok := since[s.ConversationID]
		if !ok || have >= s.LastSeq || room <= 0 {
			continue
		}
		have = max(have, 0) // the auth frame refuses negative ones
		n := min(s.LastSeq-have, ReadyMessagesPerConversation, room)
		ranges = append(ranges, parley.SeqRange{ConversationID: s.ConversationID, After: have, Until: have + n})
		room -= n
	}
	if len(ranges) == 0 {
		return nil
	}
	g := c.g
	select {
	case g.histories <- struct{}{}:
		defer func() { <-g.histories }()
	case <-ctx.Done():
		return nil
	}
	all, err := g.be.Missed(ctx, c.actor, ranges)
	if err != nil {
		g.log.Warn("ready: reading missed messages", "conn_id", c.ConnID(), "conversations", len(ranges), "err", err)
		return nil
	}
	if len(all) == 0 {
		return nil
	}
	b, err := parley.AppendMessagesJSON(make([]byte, 0, 300*len(all)), all)
	if err != nil {
		g.log.Error("ready: encoding missed messages", "conn_id", c.ConnID(), "err", err)
		return nil
	}
	return b
}

// handle answers one client frame after authentication, except sends,
// which process starts in the pipeline (pipeline.go). Every frame gets
// exactly one answer: its own answer type, or an error frame.
func (c *Conn) handle(f ClientFrame) {
	g := c.g
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.OpTimeout)
	defer cancel()
	var out []byte
	var err error
	switch f.Type {
	case OpAuth:
		err = parley.Invalid("type", "already authenticated")
	case OpPing:
		out = encode(pongFrame{Type: "pong", Ref: f.Ref, ServerTime: time.Now().UTC()})
	case OpRead, OpDelivered:
		var r parley.Receipt
		if f.Type == OpRead {
			r, err = g.be.MarkRead(ctx, c.actor, f.ConversationID, f.Seq)
		} else {
			r, err = g.be.MarkDelivered(ctx, c.actor, f.ConversationID, f.Seq)
		}
		if err == nil {
			out = encode(okFrame{Type: "ok", Ref: f.Ref, Receipt: &r})
		}
	case OpTyping:
		typing := f.Typing == nil || *f.Typing
		if err = g.be.Typing(ctx, c.actor, f.ConversationID, typing); err == nil {
			out = encode(okFrame{Type: "ok", Ref: f.Ref})
		}
	case OpFocus:
		if f.Focused == nil {
			err = parley.Invalid("focused", "focused (true or false) is required")
		} else if err = g.be.ReportFocus(ctx, c.actor, c.ConnID(), *f.Focused); err == nil {
			c.focused.Store(*f.Focused)
			out = encode(okFrame{Type: "ok", Ref: f.Ref})
		}
	case OpSync:
		var states []parley.ConversationState
		if states, err = g.be.SyncState(ctx, c.actor); err == nil {
			for _, s := range states {
				c.subscribe(s.ConversationID)
			}
			if states == nil {
				states = []parley.ConversationState{}
			}
			out = encode(syncFrame{Type: "sync", Ref: f.Ref, Conversations: states})
		}
	case OpHistory:
		var ms []parley.Message
		// Neither after nor before: the newest page, newest first (before +∞).
		after, before := int64(0), int64(math.MaxInt64)
		if f.After != nil || f.Before != nil {
			after, before = deref(f.After), deref(f.Before)
		}
		if ms, err = c.history(ctx, f.ConversationID, after, before, f.Limit); err == nil {
			if ms == nil {
				ms = []parley.Message{}
			}
			out = encodeHistory(historyFrame{Type: "history", Ref: f.Ref, ConversationID: f.ConversationID, Messages: ms})
		}
	case OpCallRing, OpCallAccept, OpCallDecline, OpCallBusy, OpCallCancel, OpCallHangup:
		var call parley.Call
		if f.Type == OpCallRing {
			call, err = g.be.RingCall(ctx, c.actor, f.ConversationID, f.Video)
		} else {
			call, err = g.be.CallAction(ctx, c.actor, f.CallID, callActions[f.Type])
		}
		if err == nil {
			out = encode(callAnswer{Type: "call", Ref: f.Ref, Call: call})
		}
	case OpCallSDP, OpCallICE:
		if f.Type == OpCallICE && f.Candidate == nil {
			err = parley.Invalid("candidate", "candidate is required")
		} else if f.Type == OpCallSDP {
			f.Candidate = nil
		}
		if err == nil {
			err = g.be.CallSignal(ctx, c.actor, f.CallID, f.SDPType, f.SDP, f.Candidate)
		}
		if err == nil {
			out = encode(okFrame{Type: "ok", Ref: f.Ref})
		}
	case OpPresenceSubscribe:
		out, err = c.watchPresence(ctx, f)
	case OpPresenceUnsubscribe:
		for _, id := range f.UserIDs {
			c.unsubscribe(parley.PresenceTopic(id))
		}
		out = encode(okFrame{Type: "ok", Ref: f.Ref})
	}
	if err != nil {
		out = c.errorAnswer(f, err)
	}
	c.enqueue(opText, out)
}

// history is Backend.History on a stacks worker, at most HistoriesAtOnce
// at once per node. After a reconnect storm thousands of connections ask
// for history together; the read's deep stack (the store) then grows on a
// few reused workers instead of on every waiting reader.
func (c *Conn) history(ctx context.Context, convID string, after, before int64, limit int) (ms []parley.Message, err error) {
	g := c.g
	select {
	case g.histories <- struct{}{}:
	case <-ctx.Done():
		return nil, parley.Errorf(parley.CodeUnavailable, "the server is busy; retry the history read")
	}
	done := make(chan struct{})
	g.stacks.do(func() {
		defer close(done)
		defer func() { <-g.histories }()
		defer func() {
			if v := recover(); v != nil {
				g.log.Error("panic in websocket history read", "conn_id", c.ConnID(), "panic", v)
				err = parley.Errorf(parley.CodeInternal, "internal error")
			}
		}()
		ms, err = g.be.History(ctx, c.actor, convID, after, before, limit)
	})
	<-done
	return ms, err
}

// errorAnswer is the error frame answering f, logging server-side failures.
func (c *Conn) errorAnswer(f ClientFrame, err error) []byte {
	e := parley.AsError(err)
	if e.Code == parley.CodeInternal || e.Code == parley.CodeUnavailable {
		c.g.log.Warn("websocket operation failed", "conn_id", c.ConnID(), "user_id", c.actor.UserID,
			"op", f.Type, "err", err)
	}
	return errorFrame(f.Ref, err)
}

func (c *Conn) watchPresence(ctx context.Context, f ClientFrame) ([]byte, error) {
	if len(f.UserIDs) == 0 {
		return nil, parley.Invalid("user_ids", "user_ids is required")
	}
	for _, id := range f.UserIDs {
		if !parley.ValidID(id) {
			return nil, parley.Invalid("user_ids", "%q is not a user id", id)
		}
	}
	prefix := parley.PresenceTopic("")
	if c.countSubs(prefix)+len(f.UserIDs) > MaxPresenceUsers {
		return nil, parley.TooLarge("user_ids", "a connection may watch at most %d users", MaxPresenceUsers)
	}
	// Subscribe before reading the status, so no change falls in between.
	for _, id := range f.UserIDs {
		c.subscribe(parley.PresenceTopic(id))
	}
	st, err := c.g.be.WatchPresence(ctx, c.actor, f.UserIDs)
	if err != nil {
		for _, id := range f.UserIDs {
			c.unsubscribe(parley.PresenceTopic(id))
		}
		return nil, err
	}
	allowed := make(map[string]bool, len(st))
	for _, s := range st {
		allowed[s.UserID] = true
	}
	for _, id := range f.UserIDs {
		if !allowed[id] {
			c.unsubscribe(parley.PresenceTopic(id))
		}
	}
	if st == nil {
		st = []parley.PresenceStatus{}
	}
	return encode(presenceStateFrame{Type: "presence_state", Ref: f.Ref, Users: st}), nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
