// Package mqtt is Parley's MQTT 3.1.1/5 gateway (docs/mqtt.md): an embedded
// mochi-mqtt broker whose hooks hand every decision — who connects, who may
// read or post where, what a send stores — to internal/app, so MQTT clients
// get exactly the rules REST and WebSocket clients get. Messages reach MQTT
// subscribers from the Bus, like the WebSocket gateway's.
package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Config is the gateway's share of the server configuration.
type Config struct {
	Addr            string        // TCP listen address (":0" picks a free port)
	MaxMessageChars int           // the app's message limit; sizes the packet limit
	PacketsPerSec   float64       // packets one connection may send per second, sustained (bursts of twice that)
	SessionExpiry   time.Duration // longest a disconnected persistent session is kept (default 24h)
}

// Limits of the broker (docs/mqtt.md).
const (
	maxPendingWrites = 1024 // queued outbound packets per client; beyond, deliveries are dropped and replayed
	maxInflight      = 1024 // unacknowledged QoS 1 deliveries kept per session
	receiveMaximum   = 256  // QoS 1 publishes a client may have unacknowledged
	replayPage       = 100  // history page of a catch-up replay
	opTimeout        = 15 * time.Second
	writeTimeout     = 10 * time.Second // one socket write; a peer that takes longer is disconnected
)

// Server is the MQTT listener of one node.
type Server struct {
	broker *mochi.Server
	hook   *hook
	ln     *listener
	log    *slog.Logger
	once   sync.Once
}

// New binds cfg.Addr and prepares the broker; Serve starts accepting.
func New(rt *app.Realtime, log *slog.Logger, cfg Config) (*Server, error) {
	if cfg.SessionExpiry <= 0 {
		cfg.SessionExpiry = 24 * time.Hour
	}
	if cfg.PacketsPerSec <= 0 {
		cfg.PacketsPerSec = 100
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = maxPendingWrites
	caps.MaximumInflight = maxInflight
	caps.ReceiveMaximum = receiveMaximum
	caps.MaximumSessionExpiryInterval = uint32(min(cfg.SessionExpiry/time.Second, math.MaxUint32)) // #nosec G115 -- bounded
	caps.MaximumPacketSize = maxPacketSize(cfg.MaxMessageChars)
	caps.SharedSubAvailable = 0
	caps.Compatibilities.NoInheritedPropertiesOnAck = false
	broker := mochi.New(&mochi.Options{
		Capabilities:           caps,
		InlineClient:           true, // Publish from the bus
		Logger:                 slog.New(warnOnly{log.With("component", "mqtt").Handler()}),
		SysTopicResendInterval: 3600,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: listen on %s: %w", cfg.Addr, err)
	}
	h := newHook(rt, broker, log, cfg)
	if err := broker.AddHook(h, nil); err != nil {
		_ = ln.Close()
		return nil, err
	}
	l := &listener{ln: ln, loop: make(chan struct{}), conns: map[*gatedConn]struct{}{}, ended: h.connectionEnded, resumed: h.resume}
	l.writeTimeout.Store(int64(writeTimeout))
	if err := broker.AddListener(l); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &Server{broker: broker, hook: h, ln: l, log: log}, nil
}

// maxPacketSize bounds one packet: a body of maxChars 4-byte characters,
// escaped JSON, topic and properties fit; anything larger closes the
// connection before it is read into memory.
func maxPacketSize(maxChars int) uint32 {
	n := 6*maxChars + 4096
	if n < 64<<10 {
		n = 64 << 10
	}
	return uint32(min(n, math.MaxUint32)) // #nosec G115 -- bounded
}

// Addr returns the address the listener is bound to.
func (s *Server) Addr() string { return s.ln.ln.Addr().String() }

// Serve starts accepting connections; it returns at once.
func (s *Server) Serve() error {
	s.log.Info("mqtt serving", "addr", s.Addr())
	s.ln.served.Store(true)
	return s.broker.Serve()
}

// HandleEvent routes one bus event to the MQTT sessions (see hook.event).
func (s *Server) HandleEvent(e parley.Event) { s.hook.event(e) }

// Close disconnects every client and stops the broker. Safe to call twice.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.ln.quiesce()
		err = s.broker.Close()
		s.hook.stop()
	})
	return err
}

// listener serves mochi on a listener bound by New (so ":0" has an address
// before Serve).
//
// mochi's Close must not run while EstablishConnection is still building a
// client (both touch the broker's fields without a lock), so quiesce stops
// accepting and waits until every accepted connection has been read by the
// broker once: its first read comes after the client is built.
//
// mochi's Close disconnects the clients it has registered, then waits for
// every connection's goroutine; one still before or inside its CONNECT
// (registered after Close looked, or sending nothing) would keep it waiting
// as long as the peer stays: Close ends every accepted connection still open
// once the broker's clients are told.
type listener struct {
	ln      net.Listener
	served  atomic.Bool   // Serve was called, so the accept loop runs or will
	loop    chan struct{} // closed when the accept loop returns
	pending sync.WaitGroup

	writeTimeout atomic.Int64 // a write's bound (writeTimeout; tests shorten it)
	sendBuffer   atomic.Int64 // tests: the socket send buffer of connections accepted from now (0: the system's)

	ended   func(*mochi.Client) // called when mochi's goroutine for an established connection returns (hook.connectionEnded)
	resumed func(*mochi.Client) // called when a write to a stalled connection returned (hook.resume); must not block

	mu    sync.Mutex
	conns map[*gatedConn]struct{} // accepted and not closed; nil once Close ran (later ones are closed at once)
}

// quiesce closes the socket and waits (bounded) for the accept loop to end
// and for the broker to have started reading every accepted connection.
func (l *listener) quiesce() {
	_ = l.ln.Close()
	if !l.served.Load() {
		return
	}
	done := make(chan struct{})
	go func() { <-l.loop; l.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// gatedConn is one accepted connection. It reports the first time the
// broker reads from or sets a deadline on it, and bounds every write by
// writeTimeout. mochi writes holding the client's lock, bounded only by its
// keepalive deadline (none at keepalive 0, and pushed back by every packet
// the peer sends), and a delivery takes that lock with hook.mu held: a peer
// that stops reading must not stop every delivery, nor the server's Close.
type gatedConn struct {
	net.Conn
	once    sync.Once
	release func()
	l       *listener
	client  atomic.Pointer[mochi.Client] // set once the session is established (registry.go)
	writing atomic.Int64                 // unix nanoseconds at which the write in progress began; 0 between writes (stall.go)
	stalled atomic.Bool                  // a delivery was skipped for a write in progress too long (stall.go)
}

func (c *gatedConn) Read(p []byte) (int, error) {
	c.once.Do(c.release)
	return c.Conn.Read(p)
}

func (c *gatedConn) SetReadDeadline(t time.Time) error {
	c.once.Do(c.release)
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline is mochi's keepalive: it bounds reads only, so that a peer
// that keeps sending (or a keepalive of 0) does not lift the write bound.
func (c *gatedConn) SetDeadline(t time.Time) error {
	c.once.Do(c.release)
	return c.Conn.SetReadDeadline(t)
}

// Write gives each write writeTimeout and ends the connection when one
// fails: part of a packet may be out, so the stream is unusable. (mochi
// serializes its writes under the client's lock.)
func (c *gatedConn) Write(p []byte) (int, error) {
	now := time.Now()
	_ = c.Conn.SetWriteDeadline(now.Add(time.Duration(c.l.writeTimeout.Load())))
	c.writing.Store(now.UnixNano())
	n, err := c.Conn.Write(p)
	c.writing.Store(0)
	if err != nil {
		_ = c.Close()
		return n, err
	}
	if c.stalled.Load() && c.stalled.CompareAndSwap(true, false) {
		if cl := c.client.Load(); cl != nil && c.l.resumed != nil {
			c.l.resumed(cl) // must not wait: mochi holds cl's lock here
		}
	}
	return n, err
}

func (c *gatedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

func (l *listener) Init(*slog.Logger) error { return nil }
func (l *listener) ID() string              { return "parley" }
func (l *listener) Address() string         { return l.ln.Addr().String() }
func (l *listener) Protocol() string        { return "tcp" }

func (l *listener) Serve(establish listeners.EstablishFn) {
	defer close(l.loop)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		if n := l.sendBuffer.Load(); n > 0 {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetWriteBuffer(int(n))
			}
		}
		gc := &gatedConn{Conn: conn, l: l, release: l.pending.Done}
		l.mu.Lock()
		if l.conns == nil {
			l.mu.Unlock()
			_ = conn.Close()
			continue
		}
		l.conns[gc] = struct{}{}
		l.mu.Unlock()
		l.pending.Add(1)
		go func() {
			_ = establish(l.ID(), gc) // the hook logs what matters
			gc.once.Do(gc.release)
			if cl := gc.client.Load(); cl != nil && l.ended != nil {
				l.ended(cl)
			}
			_ = gc.Close() // mochi has closed it already; this forgets it whatever path mochi took
		}()
	}
}

// Close tells the broker's clients (DISCONNECT 0x8B), then ends every
// connection still open, so that the broker's wait for their goroutines
// that follows is bounded.
func (l *listener) Close(closeClients listeners.CloseFn) {
	closeClients(l.ID())
	_ = l.ln.Close()
	l.mu.Lock()
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	for c := range conns {
		_ = c.Conn.Close()
	}
}

// warnOnly passes on the broker's errors only: its info lines narrate
// start-up and every hook, its warnings are each bad packet a client sends
// (answered with a reason code, and counted by no one).
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && w.Handler.Enabled(ctx, l)
}
func (w warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(a)} }
func (w warnOnly) WithGroup(g string) slog.Handler      { return warnOnly{w.Handler.WithGroup(g)} }
