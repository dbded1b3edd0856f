package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley"
)

// Event is one real-time event as the SDK hands it to the application.
// Type is the frame's "type" (see docs/protocol.md and
// docs/protocol-events.md), or one of the SDK's own: "connected" (after
// every successful (re)authentication; Ready is set) and "disconnected"
// (Err says why; the SDK reconnects unless Err is unauthenticated).
//
// Raw is the complete frame. For the message kinds (message,
// message_edited, message_deleted) Message is decoded; for receipt,
// Receipt; for presence, Presence; for typing, UserID and Typing; for
// call, Call; for call_sdp and call_ice, Signal (client/call.go).
type Event struct {
	Type           string
	ConversationID string
	UserID         string
	Message        *parley.Message
	Receipt        *parley.Receipt
	Presence       *parley.PresenceStatus
	Typing         bool
	Ready          *Ready
	Call           *parley.Call
	Signal         *CallSignal
	Err            error
	Raw            json.RawMessage
}

// Ready is the server's ready frame.
type Ready struct {
	User          parley.User                `json:"user"`
	SessionID     string                     `json:"session_id"`
	ConnID        string                     `json:"conn_id"`
	ServerTime    time.Time                  `json:"server_time"`
	Limits        RealtimeLimits             `json:"limits"`
	Conversations []parley.ConversationState `json:"conversations"`
	// Messages are the messages missed since the positions the session
	// named in its auth frame (docs/protocol.md); they are also delivered
	// as "message" events, in order, right after the "connected" event.
	Messages []parley.Message `json:"messages,omitempty"`
}

// RealtimeLimits are the limits announced in the ready frame.
type RealtimeLimits struct {
	MaxFrameBytes   int     `json:"max_frame_bytes"`
	MaxMessageChars int     `json:"max_message_chars"`
	PingIntervalMS  int64   `json:"ping_interval_ms"`
	TypingTTLMS     int64   `json:"typing_ttl_ms"`
	QueueFrames     int     `json:"queue_frames"`
	OpsPerSecond    float64 `json:"ops_per_second"`
	OpsBurst        int     `json:"ops_burst"`
}

// RealtimeOptions tune Connect. Zero fields take the defaults shown.
type RealtimeOptions struct {
	MinBackoff time.Duration // first reconnect delay; 100ms (then doubling, with full jitter)
	MaxBackoff time.Duration // 10s
	// Since gives, per conversation, the seq up to which the application
	// already holds every message; resync fetches what follows. Conversations
	// not listed start at their last_seq of the first ready frame (only new
	// messages are delivered).
	Since map[string]int64
	// Header adds handshake headers (Origin, say).
	Header http.Header
	// FetchPage is the history page size used by resync; 100.
	FetchPage int
}

// Realtime is a live WebSocket session that reconnects by itself. Events
// arrive on Events() in order; messages of each conversation arrive exactly
// once and in seq order, across reconnects (see docs/protocol.md "Resync").
// The application must keep reading Events; the SDK buffers without bound
// meanwhile so that the socket itself never backs up.
type Realtime struct {
	c    *Client
	opts RealtimeOptions

	events chan Event
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	wmu  sync.Mutex // serialises writes on conn
	mu   sync.Mutex
	conn net.Conn
	gen  int           // connection generation
	up   chan struct{} // closed when a connection is ready; replaced on disconnect
	wait map[string]chan frameIn
	ref  uint64
	err  error // terminal error
	rdy  *Ready

	inq     chan frameIn // readers → dispatcher
	backlog []frameIn    // dispatcher-owned: frames taken from inq, not yet processed
	// have is written by the dispatcher only, under hmu; dial reads it
	// under hmu for the auth frame's since.
	hmu   sync.Mutex
	have  map[string]int64
	first bool
}

// maxSince is the most conversations an auth frame's since may name
// (docs/protocol.md); a session holding more sends none and catches up
// with history requests.
const maxSince = 2000

// setHave records that every message of conversationID up to seq was
// emitted. Called by the dispatcher only.
func (rt *Realtime) setHave(conversationID string, seq int64) {
	rt.hmu.Lock()
	rt.have[conversationID] = seq
	rt.hmu.Unlock()
}

// since is a copy of have for the auth frame, or nil.
func (rt *Realtime) since() map[string]int64 {
	rt.hmu.Lock()
	defer rt.hmu.Unlock()
	if len(rt.have) == 0 || len(rt.have) > maxSince {
		return nil
	}
	m := make(map[string]int64, len(rt.have))
	for k, v := range rt.have {
		m[k] = v
	}
	return m
}

type frameIn struct {
	typ   string
	raw   []byte
	gen   int
	lost  error // set for the synthetic "disconnected" frame
	final bool  // the session ends after this frame
}

// Connect opens a real-time session with the client's token and waits for
// the first ready frame. It fails with the server's error (unauthenticated,
// forbidden origin…) or CodeUnavailable if the server cannot be reached.
func (c *Client) Connect(ctx context.Context, opts RealtimeOptions) (*Realtime, error) {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.FetchPage <= 0 {
		opts.FetchPage = 100
	}
	rt := &Realtime{
		c: c, opts: opts,
		events: make(chan Event, 64),
		done:   make(chan struct{}),
		up:     make(chan struct{}),
		wait:   map[string]chan frameIn{},
		inq:    make(chan frameIn, 256),
		have:   map[string]int64{},
		first:  true,
	}
	for k, v := range opts.Since {
		rt.have[k] = v
	}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	if err := rt.dial(ctx); err != nil {
		rt.cancel()
		return nil, err
	}
	go rt.dispatch()
	go rt.supervise()
	return rt, nil
}

// Events returns the event stream. It is closed after Close, or when the
// session ends for good (Err of the last "disconnected" event says why).
func (rt *Realtime) Events() <-chan Event { return rt.events }

// Ready returns the latest ready frame.
func (rt *Realtime) Ready() Ready {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.rdy == nil {
		return Ready{}
	}
	return *rt.rdy
}

// Close ends the session.
func (rt *Realtime) Close() error {
	rt.cancel()
	rt.mu.Lock()
	conn := rt.conn
	rt.mu.Unlock()
	if conn != nil {
		rt.wmu.Lock()
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = wsutil.WriteClientMessage(conn, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
		rt.wmu.Unlock()
		_ = conn.Close()
	}
	<-rt.done
	return nil
}

// Drop closes the current connection abruptly, as a network failure would;
// the session reconnects and resyncs. For tests and tools.
func (rt *Realtime) Drop() {
	rt.mu.Lock()
	conn := rt.conn
	rt.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

func wsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/ws"
	return u.String(), nil
}

// dial connects, authenticates and waits for ready. On success the reader
// goroutine runs and the ready frame is queued for the dispatcher.
func (rt *Realtime) dial(ctx context.Context) error {
	u, err := wsURL(rt.c.base)
	if err != nil {
		return parley.Invalid("", "bad base URL: %v", err)
	}
	d := ws.Dialer{Timeout: 10 * time.Second}
	if tr, ok := rt.c.http.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		d.TLSConfig = tr.TLSClientConfig.Clone() // wss trusts what REST trusts
	}
	h := http.Header{"User-Agent": {rt.c.ua}}
	for k, v := range rt.opts.Header {
		h[k] = v
	}
	d.Header = ws.HandshakeHeaderHTTP(h)
	var status int
	d.OnStatusError = func(st int, _ []byte, _ io.Reader) { status = st }
	conn, br, _, err := d.Dial(ctx, u)
	if err != nil {
		if status != 0 {
			return &parley.Error{Code: parley.CodeForStatus(status), Message: fmt.Sprintf("websocket handshake: HTTP %d", status), Err: err}
		}
		return &parley.Error{Code: parley.CodeUnavailable, Message: "websocket dial: " + err.Error(), Err: err}
	}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	br2 := bufio.NewReaderSize(r, 8<<10)
	auth, _ := json.Marshal(struct {
		Type  string           `json:"type"`
		Token string           `json:"token"`
		Since map[string]int64 `json:"since,omitempty"`
	}{"auth", rt.c.Token(), rt.since()})
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if err := wsutil.WriteClientText(conn, auth); err != nil {
		_ = conn.Close()
		return &parley.Error{Code: parley.CodeUnavailable, Message: "websocket write: " + err.Error(), Err: err}
	}
	typ, raw, err := readServerFrame(br2, conn, nil)
	_ = conn.SetDeadline(time.Time{})
	if err != nil {
		_ = conn.Close()
		return err
	}
	if typ == "error" {
		_ = conn.Close()
		return decodeFrameError(raw)
	}
	if typ != "ready" {
		_ = conn.Close()
		return parley.Errorf(parley.CodeInternal, "expected ready frame, got %q", typ)
	}
	var rd Ready
	if err := json.Unmarshal(raw, &rd); err != nil {
		_ = conn.Close()
		return parley.Errorf(parley.CodeInternal, "decode ready: %v", err)
	}
	rt.mu.Lock()
	rt.conn = conn
	rt.gen++
	gen := rt.gen
	rt.rdy = &rd
	close(rt.up)
	rt.mu.Unlock()
	rt.push(frameIn{typ: "ready", raw: raw, gen: gen})
	go rt.read(conn, br2, gen)
	return nil
}

// readServerFrame reads the next text message, answering pings (under the
// write lock when wmu is non-nil). A close frame becomes an error carrying
// the close code.
func readServerFrame(r io.Reader, conn net.Conn, wmu *sync.Mutex) (string, []byte, error) {
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return "", nil, &parley.Error{Code: parley.CodeUnavailable, Message: "connection lost: " + err.Error(), Err: err}
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			return "", nil, &parley.Error{Code: parley.CodeUnavailable, Message: "connection lost: " + err.Error(), Err: err}
		}
		switch h.OpCode {
		case ws.OpPing:
			if wmu != nil {
				wmu.Lock()
			}
			_ = wsutil.WriteClientMessage(conn, ws.OpPong, p)
			if wmu != nil {
				wmu.Unlock()
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(p)
			return "", nil, &CloseError{Code: int(code), Reason: reason}
		case ws.OpText:
			var t struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(p, &t)
			return t.Type, p, nil
		}
	}
}

// CloseError is a close frame from the server. Its Code is documented in
// docs/protocol.md; parley.ErrorCode(err) of a CloseError maps it back.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason) }

// ParleyError returns the *parley.Error a close code stands for
// (parley.CodeForClose); a close that is no error (going away, slow
// consumer, heartbeat timeout…) is CodeUnavailable: reconnect.
func (e *CloseError) ParleyError() *parley.Error {
	code, ok := parley.CodeForClose(e.Code)
	if !ok {
		code = parley.CodeUnavailable
	}
	return &parley.Error{Code: code, Message: e.Error(), Err: e}
}

func decodeFrameError(raw []byte) error {
	var f parley.ErrorBody // an error frame's "error" is the REST body's
	if err := json.Unmarshal(raw, &f); err != nil || f.Error.Code == "" {
		return parley.Errorf(parley.CodeInternal, "malformed error frame")
	}
	return f.Error.Err()
}

// read is the reader goroutine of one connection: answers go to their
// waiters, events to the dispatcher.
func (rt *Realtime) read(conn net.Conn, r io.Reader, gen int) {
	for {
		typ, raw, err := readServerFrame(r, conn, &rt.wmu)
		if err != nil {
			var ce *CloseError
			if errors.As(err, &ce) {
				err = ce.ParleyError()
			}
			_ = conn.Close()
			rt.lost(gen, err)
			return
		}
		var ref struct {
			Ref string `json:"ref"`
		}
		switch typ {
		case "ack", "ok", "error", "pong", "presence_state", "sync", "history", "call":
			_ = json.Unmarshal(raw, &ref)
		}
		if ref.Ref != "" {
			rt.mu.Lock()
			ch := rt.wait[ref.Ref]
			delete(rt.wait, ref.Ref)
			rt.mu.Unlock()
			if ch != nil {
				ch <- frameIn{typ: typ, raw: raw}
				continue
			}
		}
		rt.push(frameIn{typ: typ, raw: raw, gen: gen})
	}
}

// push hands a frame to the dispatcher unless the session is over.
func (rt *Realtime) push(f frameIn) {
	select {
	case rt.inq <- f:
	case <-rt.ctx.Done():
	}
}

// lost handles the end of connection gen: waiters fail with err, and the
// supervisor reconnects.
func (rt *Realtime) lost(gen int, err error) {
	rt.mu.Lock()
	if gen != rt.gen || rt.conn == nil {
		rt.mu.Unlock()
		return
	}
	rt.conn = nil
	rt.up = make(chan struct{})
	waiters := rt.wait
	rt.wait = map[string]chan frameIn{}
	rt.mu.Unlock()
	for _, ch := range waiters {
		ch <- frameIn{lost: err}
	}
	rt.push(frameIn{typ: "disconnected", lost: err, gen: gen})
}

// supervise reconnects after every loss, with exponential backoff and full
// jitter, until Close or an unauthenticated failure.
func (rt *Realtime) supervise() {
	backoff := rt.opts.MinBackoff
	for {
		rt.mu.Lock()
		up := rt.conn != nil
		rt.mu.Unlock()
		if up {
			// Wait for the connection to drop (lost replaces up).
			select {
			case <-rt.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		sleep := time.Duration(rand.Int64N(int64(backoff) + 1)) // #nosec G404 -- backoff jitter, not a secret
		select {
		case <-rt.ctx.Done():
			return
		case <-time.After(sleep):
		}
		ctx, cancel := context.WithTimeout(rt.ctx, 15*time.Second)
		err := rt.dial(ctx)
		cancel()
		if err == nil {
			backoff = rt.opts.MinBackoff
			continue
		}
		if parley.IsCode(err, parley.CodeUnauthenticated) || parley.IsCode(err, parley.CodeForbidden) {
			rt.mu.Lock()
			rt.err = err
			rt.mu.Unlock()
			rt.push(frameIn{typ: "disconnected", lost: err, final: true})
			return
		}
		backoff = min(2*backoff, rt.opts.MaxBackoff)
	}
}
