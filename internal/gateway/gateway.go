// Package gateway is the connection side of a Parley node: it holds the
// authenticated WebSocket connections of this node, routes the events the
// Bus delivers to them, and turns client frames into calls on the app.
//
// Shape (see docs/protocol.md for the wire protocol):
//   - one reader goroutine per connection, blocked in Read while idle with a
//     small stack, or none while parked in the poller (Linux); deep work (the
//     auth, a polled reader's frames, history reads) runs on reused worker
//     goroutines whose stacks have already grown (stacks.go), so deep calls
//     (the store) never grow an idle stack and rarely copy a fresh one;
//     sends are pipelined (pipeline.go): the reader goes on once a send's
//     place in the commit order is fixed, and answers keep frame order;
//   - a hub sharded by key hash: conversation → local connections and
//     user → local connections, each shard behind its own RWMutex;
//   - per-connection bounded outbound queues of already-encoded frames, and a
//     fixed pool of writer goroutines that drain a ready connection's whole
//     queue into one buffer and write it with one non-blocking syscall;
//   - a connection whose queue overflows is closed as a slow consumer; a
//     partial write parks the remainder on a goroutine of that connection
//     alone, so no writer ever blocks on one peer.
package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/metrics"
)

// Backend is what the gateway needs from the app (internal/app.Realtime
// implements it). Every error is a *parley.Error.
type Backend interface {
	// AuthenticateUser resolves the auth frame's token to the caller and
	// their account (for the ready frame).
	AuthenticateUser(ctx context.Context, token string) (parley.Actor, parley.User, error)
	// ConversationIDs lists the conversations whose events actor receives.
	ConversationIDs(ctx context.Context, actor parley.Actor) ([]string, error)
	// SyncState returns actor's conversations with their last seq and receipts.
	SyncState(ctx context.Context, actor parley.Actor) ([]parley.ConversationState, error)
	// Send posts a message with the uploaded attachments attachmentIDs
	// (may be nil), or the end-to-end encrypted envelope e2ee (nil for a
	// plaintext message), as POST …/messages does. encoded, if not nil, is the
	// message's JSON encoding (the ack reuses it); created is false for a
	// resend of an earlier message.
	Send(ctx context.Context, actor parley.Actor, conversationID, clientMsgID, body string, replyTo int64,
		attachmentIDs []string, e2ee json.RawMessage) (m parley.Message, encoded []byte, created bool, err error)
	// History reads a page of a conversation's history, as the REST
	// endpoint: after (oldest first) or before (newest first) a seq.
	History(ctx context.Context, actor parley.Actor, conversationID string, after, before int64, limit int) ([]parley.Message, error)
	// Missed reads, in one read, the messages of several of actor's
	// conversations in the ranges given (distinct conversations, each of
	// at most ReadyMessagesPerConversation seqs, ReadyMessages in all),
	// range by range in that order, oldest first; a conversation actor is
	// not in gives nothing.
	Missed(ctx context.Context, actor parley.Actor, ranges []parley.SeqRange) ([]parley.Message, error)
	MarkRead(ctx context.Context, actor parley.Actor, conversationID string, seq int64) (parley.Receipt, error)
	MarkDelivered(ctx context.Context, actor parley.Actor, conversationID string, seq int64) (parley.Receipt, error)
	Typing(ctx context.Context, actor parley.Actor, conversationID string, typing bool) error
	// ReportFocus records whether connection connID (unique on this node)
	// is focused and visible in front of its user; the gateway reports
	// false when a connection that reported true ends.
	ReportFocus(ctx context.Context, actor parley.Actor, connID string, focused bool) error
	// WatchPresence returns the presence of those of userIDs actor may see
	// (users sharing a conversation with them), in the order given.
	WatchPresence(ctx context.Context, actor parley.Actor, userIDs []string) ([]parley.PresenceStatus, error)
	// RingCall, CallAction and CallSignal are the call use cases
	// (docs/calls.md): start a call in a direct conversation, change its
	// state (accept, decline, busy, cancel, hangup), relay a session
	// description or (candidate != nil) an ICE candidate to the peer.
	RingCall(ctx context.Context, actor parley.Actor, conversationID string, video bool) (parley.Call, error)
	CallAction(ctx context.Context, actor parley.Actor, callID string, a parley.CallAction) (parley.Call, error)
	CallSignal(ctx context.Context, actor parley.Actor, callID, sdpType, sdp string, candidate *parley.ICECandidate) error
	// Connected and Disconnected bracket every authenticated connection.
	Connected(ctx context.Context, actor parley.Actor)
	Disconnected(ctx context.Context, actor parley.Actor)
}

// HistoriesAtOnce is how many socket history reads run at once per node
// (the app bounds them too: internal/app.HistoryReads).
const HistoriesAtOnce = 4

// Close reasons that are not error codes. closeCode maps them (and every
// parley.Code) to a WebSocket close code.
const (
	ReasonNormal           = "normal"
	ReasonGoingAway        = "going_away"
	ReasonProtocolError    = "protocol_error"
	ReasonInvalidUTF8      = "invalid_utf8"
	ReasonSlowConsumer     = "slow_consumer"
	ReasonHeartbeatTimeout = "heartbeat_timeout"
	ReasonSessionRevoked   = "session_revoked"
)

// Config tunes a Gateway. Zero fields take the defaults shown.
type Config struct {
	QueueFrames     int           // frames queued per connection before it is a slow consumer; 1024
	QueueBytes      int           // bytes queued per connection before it is a slow consumer; 4 MiB
	Writers         int           // writer goroutines; GOMAXPROCS
	MaxFrameBytes   int           // largest client message (after reassembly); 320 KiB (an e2ee envelope is up to 256 KiB)
	PingInterval    time.Duration // server pings this often; a peer silent for 2× is dead; 30s
	AuthTimeout     time.Duration // time to send the auth frame after upgrading; 10s
	WriteTimeout    time.Duration // time a backlogged connection gets to drain; 10s
	CloseGrace      time.Duration // time the peer gets to answer a close frame; 2s
	OpTimeout       time.Duration // deadline of one client operation; 30s
	OpsPerSecond    float64       // sustained client frames per connection; 100
	OpsBurst        int           // burst of client frames per connection; 200
	FloodStrikes    int           // refused frames in a row that close with rate_limited (1008); 50
	MaxMessageChars int           // announced in the ready frame
	TypingTTL       time.Duration // announced in the ready frame; clients expire typing after it
	// NoPoller keeps a blocked reader goroutine per connection instead of
	// parking idle connections in epoll (Linux). For comparison and tests.
	NoPoller bool
}

func (c *Config) defaults() {
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt(&c.QueueFrames, 1024)
	setInt(&c.QueueBytes, 4<<20)
	setInt(&c.Writers, runtime.GOMAXPROCS(0))
	setInt(&c.MaxFrameBytes, 320<<10)
	setInt(&c.OpsBurst, 200)
	setInt(&c.FloodStrikes, 50)
	setDur(&c.PingInterval, 30*time.Second)
	setDur(&c.AuthTimeout, 10*time.Second)
	setDur(&c.WriteTimeout, 10*time.Second)
	setDur(&c.CloseGrace, 2*time.Second)
	setDur(&c.OpTimeout, 30*time.Second)
	setDur(&c.TypingTTL, 6*time.Second)
	if c.OpsPerSecond <= 0 {
		c.OpsPerSecond = 100
	}
}

// closeCode returns the WebSocket close code of a close reason: one of the
// Reason* above (docs/protocol.md lists them), or a parley.Code of an error
// that ends the connection (parley.Code.CloseCode, 1011 if unknown).
func closeCode(reason string) int {
	switch reason {
	case ReasonNormal:
		return 1000
	case ReasonGoingAway:
		return 1001
	case ReasonProtocolError:
		return 1002
	case ReasonInvalidUTF8:
		return 1007
	case ReasonHeartbeatTimeout:
		return 4000
	case ReasonSlowConsumer:
		return 4008
	case ReasonSessionRevoked:
		return parley.CodeUnauthenticated.CloseCode()
	}
	return parley.Code(reason).CloseCode()
}

// Gateway is one node's set of real-time connections.
type Gateway struct {
	be      Backend
	log     *slog.Logger
	metrics *metrics.Metrics
	cfg     Config

	hub    hub
	poll   *poller // nil: every connection keeps a blocked reader
	stacks *stacks // goroutines for deep work (stacks.go)
	// histories bounds the socket history reads at once (Conn.history).
	histories chan struct{}
	writers   []*writer
	nextID    atomic.Uint64
	conns     atomic.Int64

	// revoked remembers recently revoked session ids for a while, to close
	// the race between a token being checked at auth and the connection
	// joining the hub. (Revocations name the sessions they end; user ids
	// are not remembered, so a re-enabled account can connect at once.)
	revokedMu sync.Mutex
	revoked   map[string]time.Time

	ctx    context.Context // cancelled by Close; parent of every operation
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and readers.Add against Close
	closed bool
	// readers counts reader goroutines (one per accepted connection).
	readers sync.WaitGroup
	bg      sync.WaitGroup // writers and the heartbeat loop
}

// New starts a Gateway's writer pool and heartbeat loop. log and m may be nil.
func New(be Backend, log *slog.Logger, m *metrics.Metrics, cfg Config) *Gateway {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{be: be, log: log, metrics: m, cfg: cfg, revoked: map[string]time.Time{}, stacks: newStacks(),
		histories: make(chan struct{}, HistoriesAtOnce)}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.hub.init()
	if !cfg.NoPoller {
		if p, err := newPoller(); err == nil {
			g.poll = p
		} else {
			log.Warn("no epoll poller; idle connections keep a reader goroutine", "err", err)
		}
	}
	for i := 0; i < cfg.Writers; i++ {
		w := &writer{g: g, wake: make(chan struct{}, 1)}
		g.writers = append(g.writers, w)
		g.bg.Add(1)
		go w.run()
	}
	g.bg.Add(1)
	go g.heartbeats()
	return g
}

// Config returns the configuration in force, defaults filled in.
func (g *Gateway) Config() Config { return g.cfg }

// Connections returns the number of open connections (authenticated or not).
func (g *Gateway) Connections() int { return int(g.conns.Load()) }

// Accept takes over nc, a connection that has just completed the WebSocket
// handshake; buffered holds bytes already read past the handshake (may be
// nil). It returns at once; the connection lives on its own goroutine.
func (g *Gateway) Accept(nc net.Conn, buffered []byte) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = writeCloseNow(nc, closeCode(ReasonGoingAway), "server shutting down")
		_ = nc.Close()
		return
	}
	g.readers.Add(1)
	g.mu.Unlock()
	c := newConn(g, nc, buffered)
	g.conns.Add(1)
	go c.serve()
}

// HandleEvent routes one bus event to the local connections it concerns.
// It never blocks on a connection. Subscribe it to the Bus.
func (g *Gateway) HandleEvent(e parley.Event) {
	if e.Kind == parley.EventSessionRevoked {
		g.revoke(e)
		return
	}
	if e.ConversationID != "" {
		for _, uid := range e.Join {
			// Collect first: subscribing takes the topic's shard lock, which
			// may be the very shard eachOfUser holds read-locked.
			for _, c := range g.connsOfUser(uid) {
				c.membership(membershipOp{conversationID: e.ConversationID, join: true})
			}
		}
	}
	n := 0
	if len(e.Frame) > 0 {
		if e.ConversationID != "" {
			g.hub.eachOfTopic(e.ConversationID, func(c *Conn) {
				if c.enqueue(opText, e.Frame) {
					n++
				}
			})
		}
		for _, uid := range e.UserIDs {
			if e.ConversationID == "" {
				g.hub.eachOfUser(uid, func(c *Conn) {
					if len(e.SessionIDs) > 0 && !inSessions(c.actor.SessionID, e.SessionIDs) {
						return
					}
					if c.enqueue(opText, e.Frame) {
						n++
					}
				})
				continue
			}
			// subscribed takes Conn.subMu, which ranks above the shard
			// locks: check it outside eachOfUser's read lock.
			for _, c := range g.connsOfUser(uid) {
				if c.subscribed(e.ConversationID) {
					continue // already delivered through the conversation
				}
				if c.enqueue(opText, e.Frame) {
					n++
				}
			}
		}
	}
	if e.ConversationID != "" {
		for _, uid := range e.Leave {
			for _, c := range g.connsOfUser(uid) {
				c.membership(membershipOp{conversationID: e.ConversationID})
			}
		}
	}
	g.metrics.AddDeliveries(n)
}

// inSessions reports whether id is one of ids (a handful at most).
func inSessions(id string, ids []string) bool {
	for _, s := range ids {
		if s == id {
			return true
		}
	}
	return false
}

// connsOfUser returns the local connections of userID, so callers can act
// on them without holding a hub lock.
func (g *Gateway) connsOfUser(userID string) []*Conn {
	var cs []*Conn
	g.hub.eachOfUser(userID, func(c *Conn) { cs = append(cs, c) })
	return cs
}

// revoke closes every connection of the users in UserIDs and every
// connection of the sessions in SessionIDs, writing the event's frame
// ({"type":"session_revoked","reason":…}) first when it has one.
func (g *Gateway) revoke(e parley.Event) {
	now := time.Now()
	g.revokedMu.Lock()
	for _, id := range e.SessionIDs {
		g.revoked[id] = now
	}
	if len(g.revoked) > 256 {
		for k, t := range g.revoked {
			if now.Sub(t) > 2*g.cfg.OpTimeout {
				delete(g.revoked, k)
			}
		}
	}
	g.revokedMu.Unlock()
	var victims []*Conn
	for _, uid := range e.UserIDs {
		g.hub.eachOfUser(uid, func(c *Conn) { victims = append(victims, c) })
	}
	if len(e.SessionIDs) > 0 {
		sessions := make(map[string]bool, len(e.SessionIDs))
		for _, id := range e.SessionIDs {
			sessions[id] = true
		}
		g.hub.each(func(c *Conn) {
			if sid := c.who().SessionID; sid != "" && sessions[sid] {
				victims = append(victims, c)
			}
		})
	}
	for _, c := range victims {
		if len(e.Frame) > 0 {
			c.enqueue(opText, e.Frame)
		}
		c.closeWith(ReasonSessionRevoked, "session revoked")
	}
}

// recentlyRevoked reports whether actor's session was revoked within the
// last two operation timeouts (longer than any authentication can take).
func (g *Gateway) recentlyRevoked(actor parley.Actor) bool {
	g.revokedMu.Lock()
	defer g.revokedMu.Unlock()
	t, ok := g.revoked[actor.SessionID]
	return ok && time.Since(t) <= 2*g.cfg.OpTimeout
}

// heartbeats pings every authenticated connection each PingInterval. A peer
// that sends nothing (not even the pong) for two intervals is closed by its
// reader's deadline.
func (g *Gateway) heartbeats() {
	defer g.bg.Done()
	t := time.NewTicker(g.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
			stale := time.Now().Add(-2 * g.cfg.PingInterval).UnixNano()
			var dead []*Conn
			g.hub.each(func(c *Conn) {
				if last := c.lastRead.Load(); last != 0 && last < stale {
					dead = append(dead, c)
					return
				}
				c.enqueue(opPing, nil)
			})
			for _, c := range dead {
				c.closeWith(ReasonHeartbeatTimeout, "no frames within two ping intervals")
			}
		}
	}
}

// Close sends every connection a going-away close frame, waits (up to
// CloseGrace plus a little) for them to end, and stops the writers. Later
// Accept calls close their connection at once.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	var all []*Conn
	g.hub.each(func(c *Conn) { all = append(all, c) })
	for _, c := range all {
		c.closeWith(ReasonGoingAway, "server shutting down")
	}
	g.cancel()
	done := make(chan struct{})
	go func() { g.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(g.cfg.CloseGrace + time.Second):
		var all []*Conn
		g.hub.each(func(c *Conn) { all = append(all, c) })
		for _, c := range all {
			_ = c.nc.Close()
			c.resume() // a parked connection needs a reader to see it end
		}
		<-done
	}
	if g.poll != nil {
		g.poll.close()
	}
	g.stacks.stop()
	for _, w := range g.writers {
		w.stop()
	}
	g.bg.Wait()
	return nil
}
