package gateway

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley"
)

// WebSocket opcodes of queued frames.
const (
	opText  = ws.OpText
	opClose = ws.OpClose
	opPing  = ws.OpPing
	opPong  = ws.OpPong
)

// outFrame is one queued server frame: its payload is shared, never copied
// or modified (the same event payload sits in many queues).
type outFrame struct {
	op ws.OpCode
	p  []byte
}

// Conn is one WebSocket connection. Its fields are kept few and small: an
// idle connection costs this struct, its net.Conn and its reader's stack.
type Conn struct {
	g   *Gateway
	nc  net.Conn
	raw syscall.RawConn // for non-blocking writes; nil if nc has none
	id  uint64
	w   *writer

	// actor is set once, under mu, by the reader before the connection joins
	// the hub's user index; the reader and user-index callbacks read it
	// freely, anyone else through who().
	actor parley.Actor

	focused atomic.Bool // the client last reported focus (OpFocus)

	// Input (input.go), reader-owned: unconsumed bytes (nil when none), the
	// pooled buffer they live in while a reader is active, the message
	// being reassembled from fragments, the bytes the buffer should hold
	// for the frame being read, and whether the last read drained the
	// socket.
	buffered []byte
	pooled   *[]byte
	frag     []byte
	need     int
	drained  bool

	mu         sync.Mutex
	queue      []outFrame
	spare      []outFrame // an emptied queue kept for reuse when small
	qbytes     int
	pending    []byte // the unwritten tail of a partial write
	scheduled  bool   // in a writer's ready list, being written, or parked on a slow write
	held       bool   // frames queue up but are not written (until the ready frame)
	corked     bool   // frames queue up but are not written (until the answer to a send)
	closed     bool   // no more frames are accepted
	closeFrame []byte // a close frame to write after the queue
	closeSent  bool   // the close frame went out (or never will)

	subMu        sync.Mutex
	subs         []string // hub topics this connection is subscribed to
	unsubscribed bool     // torn down: no more subscriptions
	// syncing is set while sign-in subscribes from its snapshots; the
	// membership events that arrive meanwhile are applied and also kept in
	// syncLog, in order, to be applied again once the snapshot's
	// subscriptions are in (endSync).
	syncing bool
	syncLog []membershipOp

	// The poller's registration (poller_linux.go): arm and forget take
	// pollMu, since a close path may start a reader while another is
	// still parking the connection.
	pollMu   sync.Mutex
	polled   bool // registered in the poller
	unpolled bool // forgotten by the poller: never registered again

	// Reader-owned (one reader at a time; handed over through parked).
	authed   bool
	parked   atomic.Bool  // in the poller, no reader running
	lastRead atomic.Int64 // unix nanos of the last frame received
	tokens   float64
	lastTick int64 // unix nanos of the last token refill
	strikes  int
	pipe     *sendPipe // in-flight sends (pipeline.go); set by the reader on its first send
}

func newConn(g *Gateway, nc net.Conn, buffered []byte) *Conn {
	c := &Conn{g: g, nc: nc, buffered: buffered, id: g.nextID.Add(1)}
	c.w = g.writers[c.id%uint64(len(g.writers))]
	if sc, ok := nc.(syscall.Conn); ok && rawConnOK {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.tokens = float64(g.cfg.OpsBurst)
	return c
}

// ConnID is the connection's id as announced in the ready frame.
func (c *Conn) ConnID() string { return strconv.FormatUint(c.id, 36) }

// enqueue queues one frame for writing. It never blocks. It reports false if
// the connection is closed, or if the frame overflowed the queue, in which
// case the connection is closed as a slow consumer.
func (c *Conn) enqueue(op ws.OpCode, p []byte) bool {
	cfg := &c.g.cfg
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= cfg.QueueFrames || c.qbytes+len(p) > cfg.QueueBytes {
		c.mu.Unlock()
		c.g.metrics.IncQueueDrops()
		c.g.log.Info("slow consumer disconnected", "conn_id", c.ConnID(), "user_id", c.who().UserID)
		c.abandon(ReasonSlowConsumer, "outbound queue full")
		// Cut short a write parked on the full socket.
		_ = c.nc.SetWriteDeadline(time.Now().Add(cfg.CloseGrace))
		return false
	}
	if c.queue == nil && c.spare != nil {
		c.queue, c.spare = c.spare, nil
	}
	c.queue = append(c.queue, outFrame{op, p})
	c.qbytes += len(p)
	sched := !c.scheduled && !c.held && !c.corked
	if sched {
		c.scheduled = true
	}
	c.mu.Unlock()
	if sched {
		c.w.push(c)
	}
	return true
}

// cork makes frames queue without being written until uncork or kick. A
// connection is corked while it has sends in flight (pipeline.go), so that
// a message's own event and the ack (and whatever else arrives meanwhile)
// leave in one write instead of several: frames for this connection wait at
// most as long as a send takes.
func (c *Conn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

func (c *Conn) uncork() { c.schedule(false) }

// kick lets what is queued be written once, staying corked.
func (c *Conn) kick() { c.schedule(true) }

func (c *Conn) schedule(corked bool) {
	c.mu.Lock()
	c.corked = corked
	sched := !c.scheduled && !c.held && (len(c.queue) > 0 || c.closeFrame != nil)
	if sched {
		c.scheduled = true
	}
	c.mu.Unlock()
	if sched {
		c.w.push(c)
	}
}

func (c *Conn) who() parley.Actor {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.actor
}

// hold makes frames queue without being written, until release.
func (c *Conn) hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

// release puts first at the head of the queue and lets the queue be written.
func (c *Conn) release(first []byte) {
	c.mu.Lock()
	c.held = false
	if !c.closed && first != nil {
		c.queue = append(c.queue, outFrame{})
		copy(c.queue[1:], c.queue)
		c.queue[0] = outFrame{opText, first}
		c.qbytes += len(first)
	}
	sched := !c.scheduled && (len(c.queue) > 0 || c.closeFrame != nil)
	if sched {
		c.scheduled = true
	}
	c.mu.Unlock()
	if sched {
		c.w.push(c)
	}
}

// closeWith ends the connection cleanly: frames already queued are written,
// then a close frame with reason's close code, then the peer gets
// CloseGrace to answer before the socket closes. Later frames are dropped.
func (c *Conn) closeWith(reason, text string) {
	c.startClose(reason, text, false)
}

// abandon ends the connection dropping whatever is queued (slow consumers).
func (c *Conn) abandon(reason, text string) {
	c.startClose(reason, text, true)
}

func (c *Conn) startClose(reason, text string, drop bool) {
	code := ws.StatusCode(closeCode(reason)) // #nosec G115 -- close codes are 1000-4999
	if len(text) > 120 {
		text = text[:120]
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if drop {
		clear(c.queue)
		c.queue = c.queue[:0]
		c.qbytes = 0
	}
	c.closeFrame = ws.NewCloseFrameBody(code, text)
	c.held = false
	sched := !c.scheduled
	if sched {
		c.scheduled = true
	}
	c.mu.Unlock()
	if sched {
		c.w.push(c)
	}
	logClose(c, int(code), reason, text)
}

// logClose records, at info level, a close with a code other than normal
// (1000) or going away (1001): what an operator looks for when people say
// they were cut off.
func logClose(c *Conn, code int, reason, text string) {
	if code == 1000 || code == 1001 {
		return
	}
	c.g.log.Info("websocket closed", "conn_id", c.ConnID(), "user_id", c.who().UserID, "code", code,
		"reason", reason, "text", text)
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// subscribe adds the connection to topic in the hub.
func (c *Conn) subscribe(topic string) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.applyLocked(membershipOp{conversationID: topic, join: true})
}

func (c *Conn) unsubscribe(topic string) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.unsubscribeLocked(topic)
}

func (c *Conn) unsubscribeLocked(topic string) {
	for i, s := range c.subs {
		if s == topic {
			c.g.hub.removeTopic(topic, c)
			last := len(c.subs) - 1
			c.subs[i] = c.subs[last]
			c.subs[last] = ""
			c.subs = c.subs[:last]
			return
		}
	}
}

func (c *Conn) subscribed(topic string) bool {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for _, s := range c.subs {
		if s == topic {
			return true
		}
	}
	return false
}

// countSubs returns how many topics with the given prefix the connection
// holds (to bound presence watches).
func (c *Conn) countSubs(prefix string) int {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	n := 0
	for _, s := range c.subs {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

// membershipOp is a membership event for the connection's user: the
// conversation joined or left.
type membershipOp struct {
	conversationID string
	join           bool
}

// beginSync starts sign-in's subscription phase (see syncing).
func (c *Conn) beginSync() {
	c.subMu.Lock()
	c.syncing, c.syncLog = true, nil
	c.subMu.Unlock()
}

// membership applies a membership event of the connection's user (bus
// order). During sign-in it is also logged: a snapshot read before the
// event's commit may otherwise subscribe after the event was applied and
// undo it (a removed member kept receiving the conversation's events).
func (c *Conn) membership(op membershipOp) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if c.syncing {
		c.syncLog = append(c.syncLog, op)
	}
	c.applyLocked(op)
}

func (c *Conn) applyLocked(op membershipOp) {
	if !op.join {
		c.unsubscribeLocked(op.conversationID)
		return
	}
	if !c.unsubscribed && c.g.hub.addTopic(op.conversationID, c) {
		c.subs = append(c.subs, op.conversationID)
	}
}

// endSync ends sign-in's subscription phase: the membership events logged
// since beginSync are applied again, in order, after the snapshots'
// subscriptions, so the last event on each conversation decides. Every
// event after endSync is applied after it (subMu).
func (c *Conn) endSync() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for _, op := range c.syncLog {
		c.applyLocked(op)
	}
	c.syncing, c.syncLog = false, nil
}

// unsubscribeAll removes every subscription for good.
func (c *Conn) unsubscribeAll() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.unsubscribed = true
	for _, s := range c.subs {
		c.g.hub.removeTopic(s, c)
	}
	c.subs = nil
}
