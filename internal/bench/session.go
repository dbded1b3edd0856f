package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// user is an account the generator registered.
type user struct {
	ID       string
	Username string
	Token    string
}

type authResponse struct {
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
	Token string `json:"token"`
}

// createUsers returns n users: taken from the --user-cache file when it
// holds users of this server, the rest registered as <prefix>_<i> (retrying
// while the server sheds load: password hashing is deliberately expensive
// and bounded) and added to the cache.
func (r *runner) createUsers(ctx context.Context, n int) ([]user, error) {
	cached := r.loadUserCache()
	users := make([]user, n)
	have := copy(users, cached)
	var done atomic.Int64
	t0 := time.Now()
	stop := r.progress(func() string { return fmt.Sprintf("registering users %d/%d", done.Load(), n-have) })
	err := parallel(ctx, n-have, r.cfg.SetupConc, func(ctx context.Context, j int) error {
		i := have + j
		name := fmt.Sprintf("%s_%d", r.cfg.Prefix, i)
		var resp authResponse
		err := retry(ctx, func() error {
			return r.rest.Do(ctx, "POST", "/api/v1/auth/register", "",
				map[string]string{"username": name, "password": r.cfg.Password}, &resp)
		})
		if err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
		users[i] = user{ID: resp.User.ID, Username: resp.User.Username, Token: resp.Token}
		done.Add(1)
		return nil
	})
	stop()
	el := time.Since(t0)
	r.rep.Setup["users"] = n
	r.rep.Setup["users_from_cache"] = have
	if n > have {
		r.rep.Setup["register_s"] = round2(el.Seconds())
		r.printf("registered %d users in %v (%.0f/s)", n-have, el.Round(time.Millisecond), float64(n-have)/el.Seconds())
	}
	if have > 0 {
		r.printf("; %d users from %s", have, r.cfg.UserCache)
	}
	r.printf("\n")
	if err == nil && n > len(cached) {
		r.saveUserCache(users)
	}
	return users, err
}

type userCache struct {
	Target string `json:"target"`
	Users  []user `json:"users"`
}

func (r *runner) loadUserCache() []user {
	if r.cfg.UserCache == "" {
		return nil
	}
	b, err := os.ReadFile(r.cfg.UserCache)
	if err != nil {
		return nil
	}
	var c userCache
	if json.Unmarshal(b, &c) != nil || c.Target != r.rep.Target {
		return nil
	}
	return c.Users
}

func (r *runner) saveUserCache(users []user) {
	if r.cfg.UserCache == "" {
		return
	}
	b, _ := json.Marshal(userCache{Target: r.rep.Target, Users: users})
	if err := os.WriteFile(r.cfg.UserCache, b, 0o600); err != nil {
		fmt.Fprintln(r.cfg.Err, "bench: user cache:", err)
	}
}

// retry repeats fn while the server answers rate_limited or unavailable,
// for at most a minute.
func retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(time.Minute)
	wait := 50 * time.Millisecond
	for {
		err := fn()
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || (ae.Code != "rate_limited" && ae.Code != "unavailable" && ae.Status != 429 && ae.Status != 503) {
			return err
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

type conversationResp struct {
	ID      string `json:"id"`
	LastSeq int64  `json:"last_seq"`
}

// createConversation creates a conversation of kind with owner and members
// (beyond the per-request limit, members are added in batches).
func (r *runner) createConversation(ctx context.Context, owner user, kind string, members []user) (string, error) {
	const batch = 100
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if m.ID != owner.ID {
			ids = append(ids, m.ID)
		}
	}
	first := ids[:min(batch, len(ids))]
	var c conversationResp
	in := map[string]any{"kind": kind, "member_ids": first}
	if kind != "direct" {
		in["title"] = r.cfg.Prefix + " " + kind
	}
	if err := retry(ctx, func() error { return r.rest.Do(ctx, "POST", "/api/v1/conversations", owner.Token, in, &c) }); err != nil {
		return "", fmt.Errorf("create %s conversation: %w", kind, err)
	}
	for i := len(first); i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		err := retry(ctx, func() error {
			return r.rest.Do(ctx, "POST", "/api/v1/conversations/"+c.ID+"/members", owner.Token,
				map[string]any{"user_ids": part}, nil)
		})
		if err != nil {
			return "", fmt.Errorf("add members: %w", err)
		}
	}
	return c.ID, nil
}

// conn is one generator WebSocket client. Its reader goroutine owns seqs.
type conn struct {
	idx      int
	u        *user
	ws       *WSConn
	receiver bool // counts message deliveries
	mu       sync.Mutex
	seqs     seqMap       // conversation → highest seq seen (guarded by mu)
	caught   func(*conn)  // storm: called by the reader after each new seq
	rs       *resyncState // storm: resync over the socket (storm_resync.go)
	ready    readyFrame
	closed   atomic.Bool
	done     chan struct{}
	err      error
}

// connect dials the WebSocket, authenticates and waits for ready. It
// returns the time from dial to ready.
func (r *runner) connect(ctx context.Context, u *user, idx int) (*conn, time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimout)
	defer cancel()
	wsurl := r.wsurl
	if len(r.wsurls) > 0 {
		wsurl = r.wsurls[idx%len(r.wsurls)]
	}
	w, err := DialWS(ctx, r.dialer, wsurl, 2048)
	if err != nil {
		return nil, 0, err
	}
	var since map[string]int64
	if r.since != nil {
		since = r.since(idx)
	}
	if err := w.WriteText(authFrame(u.Token, since)); err != nil {
		w.Abort()
		return nil, 0, err
	}
	dl, _ := ctx.Deadline()
	_ = w.SetReadDeadline(dl)
	for {
		b, err := w.ReadFrame()
		if err != nil {
			w.Abort()
			return nil, 0, err
		}
		f, ok := parseFrame(b)
		if !ok {
			continue
		}
		if f.Type == "ready" {
			var rd readyFrame
			if err := json.Unmarshal(b, &rd); err != nil {
				w.Abort()
				return nil, 0, fmt.Errorf("ready frame: %w", err)
			}
			_ = w.SetReadDeadline(time.Time{})
			c := &conn{idx: idx, u: u, ws: w, seqs: seqMap{}, done: make(chan struct{}), ready: rd}
			return c, time.Since(t0), nil
		}
		if f.Type == "error" {
			w.Abort()
			return nil, 0, fmt.Errorf("auth refused: %s", f.ErrCode)
		}
	}
}

// readyFrame is the part of the server's ready frame the generator uses.
type readyFrame struct {
	Limits struct {
		PingIntervalMS int64   `json:"ping_interval_ms"`
		OpsPerSecond   float64 `json:"ops_per_second"`
	} `json:"limits"`
	Conversations []struct {
		ConversationID string `json:"conversation_id"`
		LastSeq        int64  `json:"last_seq"`
	} `json:"conversations"`
	// Messages are the missed messages ready carries (auth frame's since).
	Messages []struct {
		ConversationID string `json:"conversation_id"`
		Seq            int64  `json:"seq"`
	} `json:"messages"`
}

// connectAll opens one connection per entry of owners (users[owners[i]]),
// conc at a time, recording the handshake latency in h.
func (r *runner) connectAll(ctx context.Context, users []user, owners []int, conc int, h *Hist) ([]*conn, int, error) {
	conns := make([]*conn, len(owners))
	var done, failed atomic.Int64
	stop := r.progress(func() string {
		return fmt.Sprintf("connecting %d/%d (%d failed)", done.Load(), len(owners), failed.Load())
	})
	err := parallel(ctx, len(owners), conc, func(ctx context.Context, i int) error {
		c, d, err := r.connect(ctx, &users[owners[i]], i)
		if err != nil {
			failed.Add(1)
			r.countErr(errCode(err))
			if failed.Load() <= 3 {
				fmt.Fprintf(r.cfg.Err, "bench: connect %d: %v\n", i, err)
			}
			return nil
		}
		if h != nil {
			h.RecordNs(i, int64(d))
		}
		conns[i] = c
		done.Add(1)
		return nil
	})
	stop()
	return conns, int(failed.Load()), err
}

// serve runs c's reader until the socket closes, handing every frame to
// r.onFrame, and sends the application heartbeat ({"type":"ping"}) every
// ping interval announced in the ready frame: the server counts only data
// frames as signs of life.
func (r *runner) serve(c *conn) {
	defer close(c.done)
	iv := time.Duration(c.ready.Limits.PingIntervalMS) * time.Millisecond
	if iv <= 0 {
		iv = 30 * time.Second
	}
	stopHB := make(chan struct{})
	defer close(stopHB)
	go func() {
		// Spread the first beat over the interval so thousands of
		// connections do not ping in lockstep.
		t := time.NewTimer(time.Duration(rand.Int64N(int64(iv)))) // #nosec G404 -- timing jitter, not a secret
		defer t.Stop()
		for {
			select {
			case <-stopHB:
				return
			case <-t.C:
			}
			if c.ws.WriteText(pingFrame) != nil {
				return
			}
			t.Reset(iv)
		}
	}()
	for {
		b, err := c.ws.ReadFrame()
		if err != nil {
			if !c.closed.Load() {
				c.err = err
			}
			return
		}
		now := time.Now().UnixNano()
		f, ok := parseFrame(b)
		if !ok {
			continue
		}
		r.onFrame(c, f, now)
	}
}

// onFrame accounts one server frame.
func (r *runner) onFrame(c *conn, f inFrame, now int64) {
	switch f.Type {
	case "message":
		if c.rs != nil {
			r.resyncMessage(c, f)
			return
		}
		if !c.receiver {
			return
		}
		st, stamped := parseBody(f.Body)
		var step *Step
		if stamped {
			step = r.stepAt(st.Step)
		}
		c.mu.Lock()
		if last, ok := c.seqs.getB(f.Conv); ok && f.Seq <= last {
			c.mu.Unlock()
			if step != nil {
				step.MarkDuplicate()
			}
			return
		}
		c.seqs.setB(f.Conv, f.Seq)
		c.mu.Unlock()
		if c.caught != nil {
			c.caught(c)
		}
		if step != nil {
			step.MarkDelivered(c.idx, st.N, st.Sched, st.Written, now)
		}
	case "ack":
		if st, ok := parseBody(f.Body); ok {
			if step := r.stepAt(st.Step); step != nil {
				step.MarkAck(c.idx, st.N, st.Sched, now)
			}
		}
	case "history":
		if c.rs != nil {
			r.resyncHistory(c, f.Raw)
		}
	case "error":
		if r.resyncError(c, f) {
			return
		}
		r.countErr(f.ErrCode)
		if step := r.stepOfRef(f.Ref); step != nil {
			step.SendErrs.Add(1)
		}
	}
}

// refs are "<step>.<n>".
func makeRef(b []byte, step int, n int64) []byte {
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, '.')
	return strconv.AppendInt(b, n, 10)
}

func (r *runner) stepOfRef(ref string) *Step {
	i := strings.IndexByte(ref, '.')
	if i < 0 {
		return r.cur.get()
	}
	n, err := strconv.Atoi(ref[:i])
	if err != nil {
		return r.cur.get()
	}
	return r.stepAt(n)
}

// closeAll closes every connection and waits for their readers.
func closeAll(conns []*conn) {
	for _, c := range conns {
		if c != nil {
			c.closed.Store(true)
			c.ws.Close()
		}
	}
	for _, c := range conns {
		if c != nil {
			select {
			case <-c.done:
			case <-time.After(2 * time.Second):
			}
		}
	}
}

// job is one message handed from the pacer to a sender.
type job struct {
	s     *Step
	n     int64
	sched int64
	conv  string
}

// sender writes the jobs of ch on c as send operations.
func (r *runner) sender(c *conn, ch <-chan job) {
	buf := make([]byte, 0, 512)
	body := make([]byte, 0, 256)
	ref := make([]byte, 0, 32)
	cm := make([]byte, 0, 64)
	for j := range ch {
		wr := time.Now().UnixNano()
		body = appendBody(body[:0], j.s.Index, j.n, j.sched, wr)
		ref = makeRef(ref[:0], j.s.Index, j.n)
		cm = append(append(append(cm[:0], r.cfg.Prefix...), '-'), ref...)
		buf = appendSendFrame(buf[:0], string(ref), j.conv, string(cm), body)
		if err := c.ws.WriteText(buf); err != nil {
			j.s.SendErrs.Add(1)
			r.countErr(errCode(err))
			continue
		}
		j.s.MarkSent(time.Now().UnixNano())
	}
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

var pingFrame = []byte(`{"type":"ping"}`)

// seqMap maps a conversation id to the highest seq seen in it. Updating a
// known conversation from a frame's bytes does not allocate.
type seqMap map[string]*int64

func (m seqMap) get(id string) int64 {
	if p := m[id]; p != nil {
		return *p
	}
	return 0
}

func (m seqMap) getB(id []byte) (int64, bool) {
	if p := m[string(id)]; p != nil {
		return *p, true
	}
	return 0, false
}

func (m seqMap) setB(id []byte, v int64) {
	if p := m[string(id)]; p != nil {
		*p = v
		return
	}
	nv := new(int64)
	*nv = v
	m[string(id)] = nv
}

func (m seqMap) set(id string, v int64) {
	if p := m[id]; p != nil {
		*p = v
		return
	}
	nv := new(int64)
	*nv = v
	m[id] = nv
}

func (m seqMap) clone() seqMap {
	c := make(seqMap, len(m))
	for k, p := range m {
		c.set(k, *p)
	}
	return c
}
