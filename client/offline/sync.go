package offline

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// ConnState is the connection state Sync reports.
type ConnState string

const (
	Connecting ConnState = "connecting" // dialling or resyncing
	Online     ConnState = "online"     // live: events arrive, the outbox drains
	Offline    ConnState = "offline"    // unreachable; retrying with backoff
	SignedOut  ConnState = "signed_out" // the server refused the token; Run has returned
)

// Status is Sync's connection state and, when not online, why.
type Status struct {
	State ConnState
	Err   error
	Since time.Time
}

// SyncOptions tune a Sync. Zero fields take the defaults shown.
type SyncOptions struct {
	MinBackoff time.Duration // 200ms: first retry of a failed connect or send
	MaxBackoff time.Duration // 10s
	// OnEvent is called (from Run's goroutine, after the store has applied
	// it) with every real-time event: typing and presence, which the store
	// does not keep, included. It must not block.
	OnEvent func(client.Event)
	// OnStatus is called on every change of connection state. It must not block.
	OnStatus func(Status)
	// RecentPages is how many of the most recently active conversations get
	// their newest page of history, members and receipts refreshed on every
	// (re)connect, to pick up edits, deletions and reactions made while the
	// client was away; 20.
	RecentPages int
	// Realtime is passed to client.Connect (its Since is set by Sync).
	Realtime client.RealtimeOptions
}

// Sync keeps a Store in step with the server: it pulls the conversation
// list and every message after the stored seqs, applies real-time events,
// and sends the outbox and the read marks. Run it once; the other methods
// are safe for concurrent use.
type Sync struct {
	st   *Store
	c    *client.Client
	opts SyncOptions
	kick chan struct{}

	mu     sync.Mutex
	rt     *client.Realtime
	status Status
	self   string
}

// NewSync returns a Sync of st through c (which carries the token).
func NewSync(st *Store, c *client.Client, opts SyncOptions) *Sync {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.RecentPages <= 0 {
		opts.RecentPages = 20
	}
	return &Sync{st: st, c: c, opts: opts, kick: make(chan struct{}, 1),
		status: Status{State: Offline, Since: time.Now()}}
}

// Store returns the store Sync writes to.
func (s *Sync) Store() *Store { return s.st }

// Client returns the REST client.
func (s *Sync) Client() *client.Client { return s.c }

// Status returns the connection state.
func (s *Sync) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Realtime returns the live session (nil when not connected), for
// operations the store does not mediate: typing, presence.
func (s *Sync) Realtime() *client.Realtime {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != Online {
		return nil
	}
	return s.rt
}

func (s *Sync) setStatus(st ConnState, err error) {
	s.mu.Lock()
	changed := s.status.State != st || (err != nil) != (s.status.Err != nil)
	s.status = Status{State: st, Err: err, Since: time.Now()}
	cb := s.opts.OnStatus
	s.mu.Unlock()
	if changed && cb != nil {
		cb(Status{State: st, Err: err, Since: time.Now()})
	}
}

// Send composes a message into the outbox (see Store.Compose) and asks Run
// to send it now if connected.
func (s *Sync) Send(conversationID string, req client.SendRequest) (Outbound, error) {
	o, err := s.st.Compose(conversationID, req)
	if err == nil {
		s.Kick()
	}
	return o, err
}

// MarkRead raises the local read mark and asks Run to send it.
func (s *Sync) MarkRead(conversationID string, seq int64) error {
	err := s.st.MarkRead(conversationID, seq)
	if err == nil {
		s.Kick()
	}
	return err
}

// Kick asks Run to send the outbox and read marks now.
func (s *Sync) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run connects and keeps the store in step until ctx ends (nil), the
// server refuses the token (the unauthenticated error; status SignedOut),
// or the store belongs to another account (conflict).
// While the server is unreachable it retries with backoff; the store stays
// readable and composable meanwhile.
func (s *Sync) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.sender(ctx) }()
	defer wg.Wait()
	backoff := s.opts.MinBackoff
	for ctx.Err() == nil {
		s.setStatus(Connecting, nil)
		err := s.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if parley.IsCode(err, parley.CodeUnauthenticated) {
			s.setStatus(SignedOut, err)
			return err
		}
		if parley.IsCode(err, parley.CodeConflict) {
			// The store belongs to another account or a newer version:
			// retrying cannot help.
			s.setStatus(Offline, err)
			return err
		}
		s.setStatus(Offline, err)
		if err == nil {
			backoff = s.opts.MinBackoff
		}
		sleep := time.Duration(rand.Int64N(int64(backoff) + 1)) // #nosec G404 -- backoff jitter
		select {
		case <-ctx.Done():
		case <-time.After(sleep):
		}
		backoff = min(2*backoff, s.opts.MaxBackoff)
	}
	s.setStatus(Offline, ctx.Err())
	return nil
}

// session is one real-time session: refresh, connect with the stored seqs,
// apply events until it ends for good.
func (s *Sync) session(ctx context.Context) error {
	if err := s.Refresh(ctx); err != nil {
		return err
	}
	have, err := s.st.Have()
	if err != nil {
		return err
	}
	ro := s.opts.Realtime
	ro.Since = have
	rt, err := s.c.Connect(ctx, ro)
	if err != nil {
		return err
	}
	defer rt.Close()
	stop := context.AfterFunc(ctx, func() { _ = rt.Close() }) // ends the event loop below
	defer stop()
	s.mu.Lock()
	s.rt = rt
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.rt = nil
		s.mu.Unlock()
	}()
	first := true
	for e := range rt.Events() {
		switch e.Type {
		case "connected":
			s.setStatus(Connecting, nil)
			s.connected(ctx, e.Ready, have, first)
			first = false
			s.setStatus(Online, nil)
			s.Kick()
		case "disconnected":
			if parley.IsCode(e.Err, parley.CodeUnauthenticated) {
				return e.Err
			}
			s.setStatus(Offline, e.Err)
		default:
			s.apply(ctx, e)
		}
		if s.opts.OnEvent != nil {
			s.opts.OnEvent(e)
		}
	}
	return parley.Errorf(parley.CodeUnavailable, "real-time session ended")
}

// connected handles a ready frame: record the states; conversations the
// store did not know when the session started get their history from the
// start (the session delivers only what follows).
func (s *Sync) connected(ctx context.Context, rd *client.Ready, have map[string]int64, first bool) {
	if rd == nil {
		return
	}
	if s.self == "" {
		s.self = rd.User.ID
	}
	for _, st := range rd.Conversations {
		_ = s.st.SetState(st)
		if _, ok := have[st.ConversationID]; !ok && first {
			_ = s.backfill(ctx, st.ConversationID, st.LastSeq)
		}
	}
	if !first {
		// The session resynced messages by itself; conversations joined
		// while it was down need their details and members too.
		_ = s.pullList(ctx)
		s.refreshRecent(ctx)
	}
}

// apply records one event in the store.
func (s *Sync) apply(ctx context.Context, e client.Event) {
	switch e.Type {
	case "message", "message_edited", "message_deleted":
		if e.Message != nil {
			_ = s.st.PutMessages(*e.Message)
			if e.Type == "message" && e.Message.SenderID != s.self {
				s.Kick() // report it delivered (coalesced with whatever else is pending)
			}
		}
	case "reaction":
		var r struct {
			Seq       int64             `json:"seq"`
			Reactions []parley.Reaction `json:"reactions"`
		}
		if json.Unmarshal(e.Raw, &r) == nil {
			_ = s.st.SetReactions(e.ConversationID, r.Seq, r.Reactions)
		}
	case "receipt":
		if e.Receipt != nil {
			_ = s.st.PutReceipt(*e.Receipt)
		}
	case "conversation_updated":
		if c := eventConversation(e); c != nil {
			_ = s.st.PutConversation(*c)
		}
	case "member_joined":
		if c := eventConversation(e); c != nil {
			_ = s.st.PutConversation(*c)
			if e.UserID == s.self {
				// Joined while connected: the session starts its history
				// at the first live message; fetch what came before.
				_ = s.backfill(ctx, c.ID, c.LastSeq)
			}
			s.refreshMembers(ctx, c.ID)
		}
	case "member_left":
		if e.UserID == s.self {
			_ = s.st.SetGone(e.ConversationID)
		} else {
			s.refreshMembers(ctx, e.ConversationID)
		}
	case "member_updated":
		var m struct {
			Member parley.Member `json:"member"`
		}
		if e.UserID == s.self && json.Unmarshal(e.Raw, &m) == nil {
			_ = s.st.SetMuted(e.ConversationID, m.Member.Muted)
		}
	}
}

func eventConversation(e client.Event) *parley.Conversation {
	var b struct {
		Conversation *parley.Conversation `json:"conversation"`
	}
	if json.Unmarshal(e.Raw, &b) != nil {
		return nil
	}
	return b.Conversation
}

// Refresh pulls, over REST, the user, the conversation list and every
// message after the stored seqs, and binds the store to the account. It
// needs the server; Run calls it on every connect, and scriptable tools
// call it alone.
func (s *Sync) Refresh(ctx context.Context) error {
	me, err := s.c.Me(ctx)
	if err != nil {
		return err
	}
	if err := s.st.Bind(s.c.BaseURL(), me.ID); err != nil {
		return err
	}
	s.self = me.ID
	_ = s.st.PutUsers(me)
	if err := s.pullList(ctx); err != nil {
		return err
	}
	convs, err := s.st.Conversations()
	if err != nil {
		return err
	}
	for _, c := range convs {
		if c.HaveSeq < c.LastSeq && !c.Gone {
			if err := s.backfill(ctx, c.ID, c.LastSeq); err != nil && !parley.IsCode(err, parley.CodeNotFound) {
				return err
			}
		}
	}
	s.refreshRecent(ctx)
	return nil
}

// pullList records the server's conversation list, every page.
func (s *Sync) pullList(ctx context.Context) error {
	cursor := ""
	for {
		page, err := s.c.Conversations(ctx, cursor, 100)
		if err != nil {
			return err
		}
		for _, e := range page.Conversations {
			if err := s.st.PutEntry(e); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		cursor = page.NextCursor
	}
}

// backfill fetches the messages after the stored have_seq up to upTo. It
// pages by the last seq received, so a history that does not start at 1
// (or has a hole the server cannot fill) still ends.
func (s *Sync) backfill(ctx context.Context, conversationID string, upTo int64) error {
	c, err := s.st.Conversation(conversationID)
	if err != nil {
		return err
	}
	for after := c.HaveSeq; after < upTo; {
		ms, err := s.c.History(ctx, conversationID, client.HistoryQuery{After: after, Limit: 200})
		if err != nil {
			return err
		}
		if len(ms) == 0 || ms[len(ms)-1].Seq <= after {
			return nil
		}
		if err := s.st.PutMessages(ms...); err != nil {
			return err
		}
		after = ms[len(ms)-1].Seq
	}
	return nil
}

// refreshRecent re-reads the newest page, the members and the receipts of
// the most recently active conversations. Failures are left for the next
// connect.
func (s *Sync) refreshRecent(ctx context.Context) {
	convs, err := s.st.Conversations()
	if err != nil {
		return
	}
	for i, c := range convs {
		if i >= s.opts.RecentPages || ctx.Err() != nil {
			return
		}
		if c.Gone {
			continue
		}
		if ms, err := s.c.History(ctx, c.ID, client.HistoryQuery{Latest: true, Limit: 50}); err == nil {
			_ = s.st.PutMessages(ms...)
		}
		if rs, err := s.c.Receipts(ctx, c.ID); err == nil {
			for _, r := range rs {
				_ = s.st.PutReceipt(r)
			}
		}
		s.refreshMembers(ctx, c.ID)
	}
}

func (s *Sync) refreshMembers(ctx context.Context, conversationID string) {
	page, err := s.c.Members(ctx, conversationID, "", 100)
	if err != nil {
		return
	}
	ids := make([]string, 0, len(page.Members))
	for _, m := range page.Members {
		ids = append(ids, m.UserID)
	}
	_ = s.st.SetMembers(conversationID, ids)
	known, _ := s.st.Users()
	var missing []string
	for _, id := range ids {
		if _, ok := known[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		if us, err := s.c.Users(ctx, missing...); err == nil {
			_ = s.st.PutUsers(us...)
		}
	}
}

// sender sends the outbox and the read marks whenever kicked, retrying
// transient failures with backoff.
func (s *Sync) sender(ctx context.Context) {
	backoff := s.opts.MinBackoff
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-retry:
		}
		retry = nil
		if s.Status().State != Online {
			continue // the next connect kicks
		}
		if _, err := s.SendOutbox(ctx); err != nil && ctx.Err() == nil {
			retry = time.After(backoff)
			backoff = min(2*backoff, s.opts.MaxBackoff)
			continue
		}
		backoff = s.opts.MinBackoff
	}
}

// SendOutbox sends every pending outbox entry in composition order, each
// with its own client_msg_id, then the unsent read marks and the delivered
// marks (up to what the store holds without a gap). An entry the
// server refuses with a typed error (invalid, too_large, forbidden,
// not_found, conflict…) is marked Failed and the rest go on; a transient
// failure (unavailable, rate_limited, or an unauthenticated token) stops
// the run and is returned, leaving the entry pending. It returns how many
// entries were stored.
func (s *Sync) SendOutbox(ctx context.Context) (int, error) {
	pend, err := s.st.pending()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range pend {
		if err := s.st.attempt(o.ClientMsgID); err != nil {
			return n, err
		}
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		m, _, err := s.c.Send(actx, o.ConversationID, client.SendRequest{ClientMsgID: o.ClientMsgID, Body: o.Body,
			ReplyTo: o.ReplyTo, AttachmentIDs: o.AttachmentIDs, E2EE: o.E2EE})
		cancel()
		if err != nil {
			e := parley.AsError(err)
			switch e.Code {
			case parley.CodeUnavailable, parley.CodeRateLimited, parley.CodeUnauthenticated:
				return n, err
			case parley.CodeInternal:
				if o.Attempts+1 < 5 { // a server fault may pass; a bug would repeat forever
					return n, err
				}
			}
			if err := s.st.fail(o.ClientMsgID, e); err != nil {
				return n, err
			}
			continue
		}
		if err := s.st.sent(o.ClientMsgID, m); err != nil {
			return n, err
		}
		n++
	}
	reads, err := s.st.unsentReads()
	if err != nil {
		return n, err
	}
	for conv, seq := range reads {
		r, err := s.c.MarkRead(ctx, conv, seq)
		switch {
		case err == nil:
			r.ConversationID = conv
			_ = s.st.PutReceipt(r)
			_ = s.st.readSent(conv, seq)
		case parley.IsCode(err, parley.CodeUnavailable) || parley.IsCode(err, parley.CodeRateLimited):
			return n, err
		default:
			_ = s.st.readSent(conv, seq) // refused (left, say): do not resend forever
		}
	}
	delivered, err := s.st.undelivered()
	if err != nil {
		return n, err
	}
	for conv, seq := range delivered {
		r, err := s.c.MarkDelivered(ctx, conv, seq)
		switch {
		case err == nil:
			r.ConversationID = conv
			_ = s.st.PutReceipt(r)
			_ = s.st.deliveredSent(conv, seq)
		case parley.IsCode(err, parley.CodeUnavailable) || parley.IsCode(err, parley.CodeRateLimited):
			return n, err
		default:
			_ = s.st.deliveredSent(conv, seq)
		}
	}
	return n, nil
}
