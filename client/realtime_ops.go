package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley"
)

// request sends one client frame with a fresh ref and waits for its answer.
// CodeUnavailable means the connection was lost before the answer came (the
// operation may or may not have happened).
func (rt *Realtime) request(ctx context.Context, frame map[string]any) (frameIn, error) {
	return rt.requestDraining(ctx, frame, false)
}

// requestDraining is request; with drain (only on the dispatcher goroutine)
// it keeps moving frames from the readers into the backlog while it waits,
// so the readers never block behind it.
func (rt *Realtime) requestDraining(ctx context.Context, frame map[string]any, drain bool) (frameIn, error) {
	var inq chan frameIn
	if drain {
		inq = rt.inq
	}
	rt.mu.Lock()
	if rt.err != nil {
		err := rt.err
		rt.mu.Unlock()
		return frameIn{}, err
	}
	up := rt.up
	rt.mu.Unlock()
	for waiting := true; waiting; {
		select {
		case <-up:
			waiting = false
		case f := <-inq:
			rt.backlog = append(rt.backlog, f)
		case <-ctx.Done():
			return frameIn{}, &parley.Error{Code: parley.CodeUnavailable, Message: "not connected", Err: ctx.Err()}
		case <-rt.ctx.Done():
			return frameIn{}, parley.Errorf(parley.CodeUnavailable, "real-time session closed")
		}
	}
	rt.mu.Lock()
	conn := rt.conn
	if conn == nil {
		rt.mu.Unlock()
		return frameIn{}, parley.Errorf(parley.CodeUnavailable, "connection lost")
	}
	rt.ref++
	ref := "r" + strconv.FormatUint(rt.ref, 36)
	ch := make(chan frameIn, 1)
	rt.wait[ref] = ch
	rt.mu.Unlock()
	frame["ref"] = ref
	b, _ := json.Marshal(frame)
	rt.wmu.Lock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := wsutil.WriteClientText(conn, b)
	rt.wmu.Unlock()
	if err != nil {
		_ = conn.Close()
	}
	for {
		select {
		case f := <-ch:
			if f.lost != nil {
				return f, &parley.Error{Code: parley.CodeUnavailable, Message: "connection lost before the answer", Err: f.lost}
			}
			if f.typ == "error" {
				return f, decodeFrameError(f.raw)
			}
			return f, nil
		case f := <-inq:
			rt.backlog = append(rt.backlog, f)
		case <-ctx.Done():
			rt.mu.Lock()
			delete(rt.wait, ref)
			rt.mu.Unlock()
			return frameIn{}, &parley.Error{Code: parley.CodeUnavailable, Message: "no answer", Err: ctx.Err()}
		}
	}
}

// SendMessage posts body to a conversation over the socket and returns the
// stored message once it is durably committed. It retries across
// disconnections and rate limits with the same clientMsgID (generated when
// empty), so the message is stored exactly once, until ctx ends. Other
// errors (invalid, not_found, forbidden, too_large) return at once.
func (rt *Realtime) SendMessage(ctx context.Context, conversationID, clientMsgID, body string) (parley.Message, error) {
	return rt.Send(ctx, conversationID, SendRequest{ClientMsgID: clientMsgID, Body: body})
}

// Send is SendMessage with every field of a send: a reply, and files
// uploaded with Upload (AttachmentIDs), as the REST Client.Send takes them.
func (rt *Realtime) Send(ctx context.Context, conversationID string, req SendRequest) (parley.Message, error) {
	if req.ClientMsgID == "" {
		req.ClientMsgID = parley.NewID()
	}
	frame := map[string]any{"type": "send", "conversation_id": conversationID,
		"client_msg_id": req.ClientMsgID, "body": req.Body}
	if req.ReplyTo != 0 {
		frame["reply_to"] = req.ReplyTo
	}
	if len(req.AttachmentIDs) > 0 {
		frame["attachment_ids"] = req.AttachmentIDs
	}
	if req.E2EE != nil {
		frame["e2ee"] = req.E2EE
	}
	for attempt := 0; ; attempt++ {
		f, err := rt.request(ctx, frame)
		if err == nil {
			var ack struct {
				Message parley.Message `json:"message"`
			}
			if err := json.Unmarshal(f.raw, &ack); err != nil {
				return parley.Message{}, parley.Errorf(parley.CodeInternal, "decode ack: %v", err)
			}
			return ack.Message, nil
		}
		e := parley.AsError(err)
		if e.Code != parley.CodeUnavailable && e.Code != parley.CodeRateLimited {
			return parley.Message{}, err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = min(time.Duration(attempt+1)*50*time.Millisecond, time.Second)
		}
		select {
		case <-ctx.Done():
			return parley.Message{}, err
		case <-time.After(wait):
		}
	}
}

// MarkRead records that the user has read conversationID up to seq.
func (rt *Realtime) MarkRead(ctx context.Context, conversationID string, seq int64) (parley.Receipt, error) {
	return rt.receipt(ctx, "read", conversationID, seq)
}

// MarkDelivered records that this device has received conversationID up to
// seq. Coalesce: one call per conversation now and then is enough.
func (rt *Realtime) MarkDelivered(ctx context.Context, conversationID string, seq int64) (parley.Receipt, error) {
	return rt.receipt(ctx, "delivered", conversationID, seq)
}

func (rt *Realtime) receipt(ctx context.Context, typ, conversationID string, seq int64) (parley.Receipt, error) {
	f, err := rt.request(ctx, map[string]any{"type": typ, "conversation_id": conversationID, "seq": seq})
	if err != nil {
		return parley.Receipt{}, err
	}
	var ok struct {
		Receipt parley.Receipt `json:"receipt"`
	}
	_ = json.Unmarshal(f.raw, &ok)
	return ok.Receipt, nil
}

// Typing tells the conversation the user is typing (or stopped).
func (rt *Realtime) Typing(ctx context.Context, conversationID string, typing bool) error {
	_, err := rt.request(ctx, map[string]any{"type": "typing", "conversation_id": conversationID, "typing": typing})
	return err
}

// Focus tells the server whether this device is visible and focused in
// front of its user: a user with a focused device is not pushed. A report
// holds for two minutes; renew it while focused (docs/notifications.md).
func (rt *Realtime) Focus(ctx context.Context, focused bool) error {
	_, err := rt.request(ctx, map[string]any{"type": "focus", "focused": focused})
	return err
}

// WatchPresence subscribes to the presence of userIDs and returns the
// current presence of those the user may see (people sharing a
// conversation); later changes arrive as "presence" events. Watches end with
// the connection: after a "connected" event, watch again.
func (rt *Realtime) WatchPresence(ctx context.Context, userIDs ...string) ([]parley.PresenceStatus, error) {
	f, err := rt.request(ctx, map[string]any{"type": "presence_subscribe", "user_ids": userIDs})
	if err != nil {
		return nil, err
	}
	var st struct {
		Users []parley.PresenceStatus `json:"users"`
	}
	_ = json.Unmarshal(f.raw, &st)
	return st.Users, nil
}

// Ping round-trips a ping frame and returns the server's time.
func (rt *Realtime) Ping(ctx context.Context) (time.Time, error) {
	f, err := rt.request(ctx, map[string]any{"type": "ping"})
	if err != nil {
		return time.Time{}, err
	}
	var p struct {
		ServerTime time.Time `json:"server_time"`
	}
	_ = json.Unmarshal(f.raw, &p)
	return p.ServerTime, nil
}

// SendRaw writes payload as one text frame, unchecked (for tests of the
// server's input handling).
func (rt *Realtime) SendRaw(payload []byte) error {
	rt.mu.Lock()
	conn := rt.conn
	rt.mu.Unlock()
	if conn == nil {
		return parley.Errorf(parley.CodeUnavailable, "not connected")
	}
	rt.wmu.Lock()
	defer rt.wmu.Unlock()
	return wsutil.WriteClientText(conn, payload)
}

// dispatch turns the frames of every connection into Events, in order.
// Messages pass the resync filter: per conversation, a message is emitted
// only if its seq is the next one; a gap is filled from history first, and
// duplicates are dropped. A ready frame starts a resync of every
// conversation whose last_seq is beyond what was emitted.
func (rt *Realtime) dispatch() {
	defer close(rt.done)
	defer close(rt.events)
	defer rt.cancel()
	for {
		if len(rt.backlog) == 0 {
			select {
			case f := <-rt.inq:
				rt.backlog = append(rt.backlog, f)
			case <-rt.ctx.Done():
				return
			}
		}
		f := rt.backlog[0]
		rt.backlog[0] = frameIn{}
		rt.backlog = rt.backlog[1:]
		if !rt.process(f) || f.final {
			rt.mu.Lock()
			if rt.err == nil {
				rt.err = parley.Errorf(parley.CodeUnavailable, "real-time session closed")
			}
			rt.mu.Unlock()
			return
		}
	}
}

// emit hands e to the application. While the application is not reading,
// it keeps taking frames from the readers into the backlog, so that a
// socket never stops being read (which would stall answers to requests
// and make the server drop the connection as a slow consumer).
func (rt *Realtime) emit(e Event) bool {
	for {
		select {
		case rt.events <- e:
			return true
		case f := <-rt.inq:
			rt.backlog = append(rt.backlog, f)
		case <-rt.ctx.Done():
			return false
		}
	}
}

// process handles one frame; false ends the session.
func (rt *Realtime) process(f frameIn) bool {
	emit := rt.emit
	switch f.typ {
	case "disconnected":
		return emit(Event{Type: "disconnected", Err: f.lost})
	case "ready":
		var rd Ready
		_ = json.Unmarshal(f.raw, &rd)
		if !emit(Event{Type: "connected", Ready: &rd, Raw: f.raw}) {
			return false
		}
		// The messages ready carries (after the since of the auth frame):
		// applied by the same rule as live ones; a gap among them is left
		// to fill below.
		for i := range rd.Messages {
			m := rd.Messages[i]
			h, ok := rt.have[m.ConversationID]
			if !ok || m.Seq != h+1 {
				continue
			}
			if !rt.emitFetched(m, emit) {
				return false
			}
		}
		for _, st := range rd.Conversations {
			h, ok := rt.have[st.ConversationID]
			if !ok {
				if rt.first {
					rt.setHave(st.ConversationID, st.LastSeq)
					continue
				}
				h = 0
				rt.setHave(st.ConversationID, 0)
			}
			if st.LastSeq > h && !rt.fill(st.ConversationID, st.LastSeq, emit) {
				return false
			}
		}
		rt.first = false
		return true
	}
	e := Event{Type: f.typ, Raw: f.raw}
	var body struct {
		ConversationID string               `json:"conversation_id"`
		UserID         string               `json:"user_id"`
		Typing         bool                 `json:"typing"`
		Message        *parley.Message      `json:"message"`
		Online         *bool                `json:"online"`
		LastSeenAt     *time.Time           `json:"last_seen_at"`
		DeliveredSeq   int64                `json:"delivered_seq"`
		ReadSeq        int64                `json:"read_seq"`
		Conversation   *parley.Conversation `json:"conversation"`
	}
	_ = json.Unmarshal(f.raw, &body)
	e.ConversationID, e.UserID, e.Typing, e.Message = body.ConversationID, body.UserID, body.Typing, body.Message
	if e.Message != nil && e.ConversationID == "" {
		e.ConversationID = e.Message.ConversationID
	}
	if body.Conversation != nil && e.ConversationID == "" {
		e.ConversationID = body.Conversation.ID
	}
	switch f.typ {
	case "call":
		var c struct {
			Call *parley.Call `json:"call"`
		}
		_ = json.Unmarshal(f.raw, &c)
		e.Call = c.Call
	case "call_sdp", "call_ice":
		var sig CallSignal
		if json.Unmarshal(f.raw, &sig) == nil {
			e.Signal = &sig
		}
	case "receipt":
		e.Receipt = &parley.Receipt{ConversationID: body.ConversationID, UserID: body.UserID,
			DeliveredSeq: body.DeliveredSeq, ReadSeq: body.ReadSeq}
	case "presence":
		e.Presence = &parley.PresenceStatus{UserID: body.UserID, LastSeenAt: body.LastSeenAt}
		if body.Online != nil {
			e.Presence.Online = *body.Online
		}
	case "message":
		if e.Message == nil {
			return emit(e)
		}
		m := e.Message
		h, known := rt.have[m.ConversationID]
		if !known {
			// A conversation joined while connected: its history starts here.
			rt.setHave(m.ConversationID, m.Seq-1)
			h = m.Seq - 1
		}
		switch {
		case m.Seq <= h:
			return true // duplicate of something already emitted
		case m.Seq > h+1:
			if !rt.fill(m.ConversationID, m.Seq-1, emit) {
				return false
			}
			if m.Seq <= rt.have[m.ConversationID] {
				return true
			}
			if rt.have[m.ConversationID] < m.Seq-1 {
				// The gap could not be fetched (history unavailable, e.g.
				// the database is restarting). Emitting m would skip it for
				// good; instead drop the connection: the reconnect's ready
				// frame resyncs from what was emitted, m included.
				rt.Drop()
				return true
			}
		}
		rt.setHave(m.ConversationID, m.Seq)
	}
	return emit(e)
}

// emitFetched emits m, a message not received live (a history page, or
// one ready carried), as a message event, and records it as emitted.
func (rt *Realtime) emitFetched(m parley.Message, emit func(Event) bool) bool {
	rt.setHave(m.ConversationID, m.Seq)
	raw, _ := json.Marshal(map[string]any{"type": "message", "message": m})
	return emit(Event{Type: "message", ConversationID: m.ConversationID, Message: &m, Raw: raw})
}

// fill fetches and emits the messages of conversationID after what was
// emitted, up to seq upTo. On failure it leaves the gap (have stays below
// upTo): the next ready frame retries, and a live message beyond the gap is
// not emitted (process drops the connection to get that ready frame).
func (rt *Realtime) fill(conversationID string, upTo int64, emit func(Event) bool) bool {
	for rt.have[conversationID] < upTo {
		after := rt.have[conversationID]
		rt.mu.Lock()
		connected := rt.conn != nil
		rt.mu.Unlock()
		var ms []parley.Message
		var err error = parley.Errorf(parley.CodeUnavailable, "not connected")
		if connected {
			ctx, cancel := context.WithTimeout(rt.ctx, 10*time.Second)
			ms, err = rt.historyAfter(ctx, conversationID, after, rt.opts.FetchPage)
			cancel()
		}
		if err != nil && !parley.IsCode(err, parley.CodeNotFound) && !parley.IsCode(err, parley.CodeInvalid) {
			// The socket is down or busy: any node's REST endpoint will do.
			ctx, cancel := context.WithTimeout(rt.ctx, 30*time.Second)
			ms, err = rt.c.fetchAfter(ctx, conversationID, after, rt.opts.FetchPage)
			cancel()
		}
		if err != nil || len(ms) == 0 {
			return rt.ctx.Err() == nil
		}
		for i := range ms {
			m := ms[i]
			if m.Seq <= rt.have[conversationID] || m.Seq > upTo {
				continue
			}
			if !rt.emitFetched(m, emit) {
				return false
			}
		}
	}
	return true
}

// historyAfter reads up to limit messages after seq over the socket, from
// the dispatcher goroutine.
func (rt *Realtime) historyAfter(ctx context.Context, conversationID string, after int64, limit int) ([]parley.Message, error) {
	f, err := rt.requestDraining(ctx, map[string]any{"type": "history", "conversation_id": conversationID,
		"after": after, "limit": limit}, true)
	if err != nil {
		return nil, err
	}
	var h struct {
		Messages []parley.Message `json:"messages"`
	}
	if err := json.Unmarshal(f.raw, &h); err != nil {
		return nil, parley.Errorf(parley.CodeInternal, "decode history: %v", err)
	}
	return h.Messages, nil
}

// History reads a page of a conversation's history over the socket: the
// messages after seq after (oldest first; 0: from the start), or, with
// before > 0, those before it (newest first); limit 0 is the server's
// default page. (A frame with neither after nor before reads the newest
// page; pass before = math.MaxInt64 for that.)
func (rt *Realtime) History(ctx context.Context, conversationID string, after, before int64, limit int) ([]parley.Message, error) {
	frame := map[string]any{"type": "history", "conversation_id": conversationID}
	if before > 0 {
		frame["before"] = before
	}
	if after > 0 || before <= 0 {
		frame["after"] = after
	}
	if limit > 0 {
		frame["limit"] = limit
	}
	f, err := rt.request(ctx, frame)
	if err != nil {
		return nil, err
	}
	var h struct {
		Messages []parley.Message `json:"messages"`
	}
	if err := json.Unmarshal(f.raw, &h); err != nil {
		return nil, parley.Errorf(parley.CodeInternal, "decode history: %v", err)
	}
	return h.Messages, nil
}

// fetchAfter reads up to limit messages after seq, oldest first, through
// the REST history endpoint.
func (c *Client) fetchAfter(ctx context.Context, conversationID string, after int64, limit int) ([]parley.Message, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	var raw json.RawMessage
	if _, err := c.do(ctx, "GET", "/api/v1/conversations/"+url.PathEscape(conversationID)+"/messages", q, nil, &raw); err != nil {
		return nil, err
	}
	var ms []parley.Message
	if err := json.Unmarshal(raw, &ms); err != nil {
		var page struct {
			Messages []parley.Message `json:"messages"`
		}
		if err2 := json.Unmarshal(raw, &page); err2 != nil {
			return nil, errors.Join(err, err2)
		}
		ms = page.Messages
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Seq < ms[j].Seq })
	return ms, nil
}

// MarkRead records over REST that the user has read conversationID up to
// seq (POST /api/v1/conversations/{id}/read); see Realtime.MarkRead.
func (c *Client) MarkRead(ctx context.Context, conversationID string, seq int64) (parley.Receipt, error) {
	var r parley.Receipt
	_, err := c.do(ctx, "POST", "/api/v1/conversations/"+url.PathEscape(conversationID)+"/read", nil, map[string]int64{"seq": seq}, &r)
	return r, err
}

// MarkDelivered records over REST that conversationID reached the user up to seq.
func (c *Client) MarkDelivered(ctx context.Context, conversationID string, seq int64) (parley.Receipt, error) {
	var r parley.Receipt
	_, err := c.do(ctx, "POST", "/api/v1/conversations/"+url.PathEscape(conversationID)+"/delivered", nil, map[string]int64{"seq": seq}, &r)
	return r, err
}

// Receipts lists every member's receipts in a conversation.
func (c *Client) Receipts(ctx context.Context, conversationID string) ([]parley.Receipt, error) {
	var out struct {
		Receipts []parley.Receipt `json:"receipts"`
	}
	_, err := c.do(ctx, "GET", "/api/v1/conversations/"+url.PathEscape(conversationID)+"/receipts", nil, nil, &out)
	return out.Receipts, err
}
