package xmpp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley"
)

// outItem is one entry of a session's outbound queue: bytes already encoded,
// or an event the writer renders for this session.
type outItem struct {
	raw      []byte
	stanza   bool // raw is a stanza (counted by stream management)
	smEnable bool // raw is <enabled/>: counting starts after it
	ev       *event
}

// conn is one XMPP session: the signed-in Parley session it speaks for,
// its subscriptions and outbound queue, and the transport currently carrying
// it (a stream-management resume moves the session to a new transport).
type conn struct {
	s     *Server
	log   *slog.Logger
	ctx   context.Context // ends with the session
	stop  context.CancelFunc
	out   chan outItem
	done  chan struct{}
	ended sync.Once

	// Identity, fixed after binding.
	actor    parley.Actor
	user     parley.User
	resource string
	jid      string // full JID

	topics map[string]struct{} // guarded by s.hub.mu

	// Transport. wmu guards nc and every write to it.
	wmu      sync.Mutex
	nc       net.Conn
	addr     string
	detached bool // the transport is gone; the session waits for a resume

	// Reader-goroutine state.
	r         *reader
	opened    bool        // our stream header was sent
	available bool        // initial presence sent (Parley presence counted); reader goroutine
	online    atomic.Bool // mirrors available for the writer goroutine
	bucket    float64
	bucketAt  time.Time
	peers     map[string]string   // peer user id → direct conversation id
	names     map[string]nameSeen // username → user id, as looked up (chat.go peerByName)
	rooms     map[string]string   // joined room (conversation id) → nick

	carbons atomic.Bool

	blocklistSeen atomic.Bool     // the client asked for its block list: push changes (XEP-0191)
	pushSeq       atomic.Uint64   // ids of server-initiated iqs
	blocked       map[string]bool // users this user blocks (blocking.go blocks); writer goroutine

	// Pipelined sends (chat.go pipeSend): slots bounds them, sends counts
	// them. slots is made and filled by the reader goroutine.
	slots chan struct{}
	sends inflight

	// recent maps stanza ids this session was sent to (conversation, seq),
	// so receipts and markers naming an id can be applied; and records the
	// client_msg_ids this session sent, so its own messages are not echoed.
	rmu    sync.Mutex
	recent map[string]msgRef
	order  []string
	mine   map[string]struct{}

	sm smState

	seen map[string]*receiptSeen // writer goroutine: receipts already told, per conversation
}

type msgRef struct {
	conv string
	seq  int64
}

const recentIDs = 512

func newConn(s *Server, nc net.Conn) *conn {
	ctx, stop := context.WithCancel(context.Background())
	host, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	return &conn{s: s, nc: nc, addr: host, ctx: ctx, stop: stop, log: s.log.With("remote", host),
		out: make(chan outItem, s.cfg.QueueLen), done: make(chan struct{}),
		topics: map[string]struct{}{}, peers: map[string]string{}, rooms: map[string]string{},
		recent: map[string]msgRef{}, mine: map[string]struct{}{}}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeNow writes b to the transport at once (negotiation, stream errors).
func (c *conn) writeNow(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.detached || c.nc == nil {
		return net.ErrClosed
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// send queues a reply from the reader goroutine (after binding), waiting
// for room: a reader that outpaces its own writer slows down instead of
// losing replies.
func (c *conn) send(b []byte, stanza bool) {
	select {
	case c.out <- outItem{raw: b, stanza: stanza}:
	case <-c.done:
	}
}

// deliver queues an event without blocking; a full queue ends the session
// (its client catches up from the archive when it comes back).
func (c *conn) deliver(ev *event) {
	select {
	case c.out <- outItem{ev: ev}:
	case <-c.done:
	default:
		c.log.Warn("xmpp session too slow; ending it", "user_id", c.actor.UserID)
		go c.fail(streamErr("policy-violation", "too many stanzas queued for a slow client"))
	}
}

// writer drains the queue, batching what is ready into one write.
func (c *conn) writer() {
	var buf xb
	for {
		var it outItem
		select {
		case it = <-c.out:
		case <-c.done:
			return
		}
		// Rendering and writing happen under wmu, so a resume (which
		// replays the unacknowledged stanzas under wmu) never interleaves
		// with a batch half recorded and half written.
		c.wmu.Lock()
		buf.Reset()
		c.render(&buf, it)
	more:
		for n := 0; n < 64 && buf.Len() < 64<<10; n++ {
			select {
			case it = <-c.out:
				c.render(&buf, it)
			default:
				break more
			}
		}
		if c.sm.enabled.Load() && buf.Len() > 0 {
			buf.WriteString("<r xmlns='" + nsSM + "'/>")
		}
		var err error
		if buf.Len() > 0 && !c.detached && c.nc != nil {
			_ = c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			_, err = c.nc.Write(buf.Bytes())
		}
		c.wmu.Unlock()
		if err != nil {
			c.closeTransport()
		}
		c.sm.mu.Lock()
		over := c.sm.over
		c.sm.mu.Unlock()
		if over {
			c.fail(streamErr("policy-violation", "too many unacknowledged stanzas"))
			return
		}
	}
}

// render appends the stanzas of one queue item, recording each for stream
// management.
func (c *conn) render(buf *xb, it outItem) {
	start := buf.Len()
	if it.ev != nil {
		c.renderEvent(buf, it.ev)
	} else {
		buf.Write(it.raw)
		if it.smEnable {
			c.sm.enabled.Store(true)
		}
		if !it.stanza {
			return
		}
	}
	if buf.Len() > start {
		// One event may render several stanzas (a receipt that is both
		// delivered and displayed is two <message/>s); the client counts
		// each, so stream management must too.
		for _, st := range splitStanzas(buf.Bytes()[start:]) {
			c.sm.sent(st, it.ev != nil)
		}
	}
}

// splitStanzas splits rendered output into its top-level elements. The
// renderer writes well-formed XML; anything after the last complete element
// is returned as a final part, so no byte is dropped. It scans bytes
// rather than tokenizing (this runs for every stanza a session with stream
// management is sent): tags with quoted attribute values, self-closing
// tags, end tags, comments, CDATA sections and processing instructions;
// text never holds '<' in well-formed XML. On input that is not well formed
// the split may differ from an XML parser's, never the bytes.
func splitStanzas(b []byte) [][]byte {
	var parts [][]byte
	depth, from := 0, 0
	for i := 0; i < len(b); {
		if b[i] != '<' {
			i++
			continue
		}
		end, m, ok := scanMarkup(b, i)
		if !ok {
			break
		}
		i = end
		switch m {
		case markupOpen:
			depth++
		case markupClose:
			depth--
		}
		if depth < 0 {
			break
		}
		if depth == 0 && (m == markupClose || m == markupEmpty) {
			parts = append(parts, b[from:i])
			from = i
		}
	}
	if rest := bytes.TrimSpace(b[from:]); len(rest) > 0 {
		parts = append(parts, b[from:])
	}
	return parts
}

// What one piece of markup is, for splitStanzas.
const (
	markupOther = iota // comment, CDATA, processing instruction, declaration
	markupOpen         // <a …>
	markupClose        // </a>
	markupEmpty        // <a …/>
)

// scanMarkup reads the markup starting at b[i] == '<' and returns the index
// after it and what it is. ok is false when the markup does not end.
func scanMarkup(b []byte, i int) (end, kind int, ok bool) {
	rest := b[i:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		k := bytes.Index(rest[4:], []byte("-->"))
		if k < 0 {
			return 0, markupOther, false
		}
		return i + 4 + k + 3, markupOther, true
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		k := bytes.Index(rest[9:], []byte("]]>"))
		if k < 0 {
			return 0, markupOther, false
		}
		return i + 9 + k + 3, markupOther, true
	case bytes.HasPrefix(rest, []byte("<?")):
		k := bytes.Index(rest[2:], []byte("?>"))
		if k < 0 {
			return 0, markupOther, false
		}
		return i + 2 + k + 2, markupOther, true
	case bytes.HasPrefix(rest, []byte("<!")):
		k := bytes.IndexByte(rest, '>')
		if k < 0 {
			return 0, markupOther, false
		}
		return i + k + 1, markupOther, true
	}
	var quote byte
	for k := 1; k < len(rest); k++ {
		c := rest[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			switch {
			case rest[1] == '/':
				return i + k + 1, markupClose, true
			case rest[k-1] == '/':
				return i + k + 1, markupEmpty, true
			}
			return i + k + 1, markupOpen, true
		}
	}
	return 0, markupOther, false
}

// closeTransport closes the current transport; the reader loop then ends.
func (c *conn) closeTransport() {
	c.wmu.Lock()
	if c.nc != nil {
		_ = c.nc.Close()
	}
	c.wmu.Unlock()
}

// fail ends the stream with a stream error and the session with it.
func (c *conn) fail(se *streamError) {
	c.writeStreamError(se)
	c.closeTransport()
	c.end()
}

// shutdown is fail for server shutdown.
func (c *conn) shutdown(se *streamError) { c.fail(se) }

func streamErrorXML(se *streamError) []byte {
	var b xb
	b.open("stream:error").empty(se.cond, "xmlns", nsStreams)
	if se.text != "" {
		b.elem("text", se.text, "xmlns", nsStreams, "xml:lang", "en")
	}
	b.close("stream:error").WriteString("</stream:stream>")
	return b.Bytes()
}

// end ends the session once: it leaves the hub, goes offline, and signs the
// Parley session out (an XMPP session is one Parley device).
func (c *conn) end() {
	c.ended.Do(func() {
		close(c.done)
		c.stop()
		if c.actor.Anonymous() {
			return
		}
		c.s.hub.unregister(c)
		c.s.sm.forget(c)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c.available {
			c.s.rt.Disconnected(ctx, c.actor)
		}
		if err := c.s.app.Logout(ctx, c.actor); err != nil && !parley.IsCode(err, parley.CodeUnauthenticated) {
			c.log.Warn("xmpp sign out", "err", err)
		}
	})
}

// serve runs one connection: negotiation, then the stanza loop.
//
// The transport is closed by whoever ends it (readEnded, fail, detach, or a
// resume that moves the session elsewhere), never by a deferred close here:
// after a resume this connection's socket carries another session.
func (c *conn) serve() {
	_ = c.nc.SetDeadline(time.Now().Add(c.s.cfg.AuthTimeout))
	target, err := c.negotiate()
	if err != nil {
		c.negotiationFailed(err)
		c.closeTransport()
		c.end()
		return
	}
	if target != c {
		// Resumed: the old session now runs on this transport.
		c.end()
		c.s.track(target, true)
		target.loop()
		c.s.track(target, false)
		return
	}
	go c.writer()
	c.bound()
	c.loop()
}

func (c *conn) negotiationFailed(err error) {
	var se *streamError
	if errors.As(err, &se) {
		c.writeStreamError(se)
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.writeStreamError(streamErr("connection-timeout", "authenticate within %s", c.s.cfg.AuthTimeout))
	}
}

// writeStreamError writes a stream error, opening the stream first if our
// header was not sent yet (RFC 6120 §4.9.1.2).
func (c *conn) writeStreamError(se *streamError) {
	var b xb
	if !c.opened {
		b.WriteString("<?xml version='1.0'?>")
		b.open("stream:stream", "xmlns", nsClient, "xmlns:stream", nsStream, "id", randomID(),
			"from", c.s.cfg.Domain, "version", "1.0")
	}
	b.Write(streamErrorXML(se))
	_ = c.writeNow(b.Bytes())
}

// loop reads and handles stanzas until the transport ends. A resume may
// move the session to a new transport meanwhile: the loop of the old one
// then ends without touching the session.
func (c *conn) loop() {
	c.wmu.Lock()
	nc, r := c.nc, c.r
	c.wmu.Unlock()
	for {
		_ = nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		el, err := r.next()
		if err != nil {
			c.wmu.Lock()
			replaced := c.nc != nc
			c.wmu.Unlock()
			if !replaced {
				c.readEnded(err)
			}
			return
		}
		if se := c.flood(); se != nil {
			c.fail(se)
			return
		}
		if se := c.handle(el); se != nil {
			c.fail(se)
			return
		}
	}
}

// readEnded handles the end of a transport: a clean close ends the session;
// a broken transport of a resumable session leaves it waiting for a resume.
func (c *conn) readEnded(err error) {
	var se *streamError
	switch {
	case errors.As(err, &se):
		c.fail(se)
	case err == errStreamClosed:
		_ = c.writeNow([]byte("</stream:stream>"))
		c.closeTransport()
		c.end()
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.fail(streamErr("connection-timeout", "no traffic for %s", c.s.cfg.IdleTimeout))
			return
		}
		if c.sm.resumable() {
			c.detach()
			return
		}
		c.closeTransport()
		c.end()
	}
}

// flood counts a stanza against the connection's budget: StanzaRate per
// second sustained, bursts of twice that. Beyond it the stream ends with
// policy-violation.
func (c *conn) flood() *streamError {
	rate := c.s.cfg.StanzaRate
	now := time.Now()
	if c.bucketAt.IsZero() {
		c.bucket = 2 * rate
	} else {
		c.bucket = min(2*rate, c.bucket+now.Sub(c.bucketAt).Seconds()*rate)
	}
	c.bucketAt = now
	if c.bucket < 1 {
		return streamErr("policy-violation", "more than %s stanzas per second", strconv.FormatFloat(rate, 'g', -1, 64))
	}
	c.bucket--
	return nil
}

// remember records that stanza id names (conv, seq) for this session.
func (c *conn) remember(id string, ref msgRef) {
	c.rmu.Lock()
	c.rememberLocked(id, ref)
	c.rmu.Unlock()
}

// rememberLocked is remember with rmu held.
func (c *conn) rememberLocked(id string, ref msgRef) {
	if _, ok := c.recent[id]; !ok {
		c.order = append(c.order, id)
		if len(c.order) > recentIDs {
			delete(c.recent, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.recent[id] = ref
}

// rememberFirst is remember that reports false, remembering nothing, when
// this session was already sent message ref under id: the offline replay
// at initial presence and live delivery can race for the same message, and
// only the first sends it.
func (c *conn) rememberFirst(id string, ref msgRef) bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if old, ok := c.recent[id]; ok && old == ref {
		return false
	}
	c.rememberLocked(id, ref)
	return true
}

func (c *conn) lookup(id string) (msgRef, bool) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	r, ok := c.recent[id]
	return r, ok
}

// sentByMe records / checks the client_msg_ids this session sent.
func (c *conn) markMine(id string) {
	c.rmu.Lock()
	if len(c.mine) > recentIDs {
		c.mine = map[string]struct{}{}
	}
	c.mine[id] = struct{}{}
	c.rmu.Unlock()
}

func (c *conn) isMine(id string) bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	_, ok := c.mine[id]
	return ok
}

// inflight counts running sends; wait may be called from any goroutine,
// concurrently with add (unlike a WaitGroup's Add from zero).
type inflight struct {
	mu   sync.Mutex
	n    int
	idle *sync.Cond
}

func (f *inflight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	if f.n--; f.n == 0 && f.idle != nil {
		f.idle.Broadcast()
	}
	f.mu.Unlock()
}

// wait returns once no send is running.
func (f *inflight) wait() {
	f.mu.Lock()
	for f.n > 0 {
		if f.idle == nil {
			f.idle = sync.NewCond(&f.mu)
		}
		f.idle.Wait()
	}
	f.mu.Unlock()
}
