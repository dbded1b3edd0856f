// Package nats is the parley.Bus for several nodes: events travel between
// nodes over core NATS publish/subscribe (no JetStream: the Bus is
// best-effort by contract, clients recover from the Store by resync).
//
// Each Bus publishes to and subscribes on one subject (Options.Subject,
// "parley.events" by default), so one NATS server can carry several
// clusters. Events published on this node reach this node's subscribers
// directly, in process; the NATS connection uses no-echo, so they are not
// delivered twice. Other nodes receive them over NATS, in publish order per
// publishing node.
//
// Outages: the connection reconnects forever (with jittered back-off) and
// re-subscribes by itself. While NATS is unreachable, Publish still delivers
// to this node's subscribers and drops the event for other nodes without
// blocking (counted in Stats().Dropped, logged once per outage); the
// gateway's resync makes up for what remote clients missed.
package nats

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/bus/memory"
)

var _ parley.Bus = (*Bus)(nil)

// DefaultSubject is the subject events travel on unless Options.Subject or
// the URL's subject parameter says otherwise.
const DefaultSubject = "parley.events"

// Options configure a Bus.
type Options struct {
	// URL is the NATS server, nats://host:4222 (several may be given,
	// comma-separated). A query parameter subject=… sets Subject.
	URL string
	// Subject carries the cluster's events; nodes of one cluster must agree.
	Subject string
	// Name identifies this node's connection in NATS monitoring.
	Name   string
	Logger *slog.Logger
}

// Bus is a parley.Bus over NATS.
type Bus struct {
	nc      *natsgo.Conn
	sub     *natsgo.Subscription
	subject string
	log     *slog.Logger

	// local delivers to this node's subscribers, whether an event was
	// published here or received from another node: per-subscriber queues
	// drained in order, so neither Publish nor NATS's delivery goroutine
	// ever waits for a subscriber.
	local *memory.Bus

	mu        sync.Mutex
	hooks     []func()                // OnReconnect callbacks; guarded by mu
	tail      map[string]parley.Event // per conversation, the last message event dropped during an outage; guarded by mu
	closeOnce sync.Once

	published, received, dropped, malformed atomic.Int64
	outage                                  atomic.Bool // a drop was logged since the last (re)connect
}

// Stats are cumulative counters of one Bus.
type Stats struct {
	Published int64 // events sent to NATS
	Received  int64 // events received from other nodes
	Dropped   int64 // events not sent to other nodes because NATS was unreachable
	Malformed int64 // undecodable payloads received (and ignored)
}

// ParseURL splits a --nats value into the server URL(s) and the subject
// given by its subject query parameter ("" if none).
func ParseURL(raw string) (servers, subject string, err error) {
	if !strings.Contains(raw, "?") {
		return raw, "", nil
	}
	i := strings.IndexByte(raw, '?')
	q, err := url.ParseQuery(raw[i+1:])
	if err != nil {
		return "", "", parley.Invalid("nats", "bad NATS URL query: %v", err)
	}
	for k := range q {
		if k != "subject" {
			return "", "", parley.Invalid("nats", "unknown NATS URL parameter %q", k)
		}
	}
	return raw[:i], q.Get("subject"), nil
}

// Open connects to NATS and subscribes. If the server cannot be reached
// yet, Open still succeeds and the Bus keeps trying in the background, so a
// node can start while NATS is down.
func Open(o Options) (*Bus, error) {
	servers, subject, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Subject != "" {
		subject = o.Subject
	}
	if subject == "" {
		subject = DefaultSubject
	}
	if strings.ContainsAny(subject, " \t\r\n*>") || strings.HasPrefix(subject, ".") ||
		strings.HasSuffix(subject, ".") || strings.Contains(subject, "..") {
		return nil, parley.Invalid("nats", "bad NATS subject %q", subject)
	}
	b := &Bus{subject: subject, log: o.Logger, local: memory.New()}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("component", "nats_bus", "subject", subject)
	name := o.Name
	if name == "" {
		name = "parley"
	}
	b.nc, err = natsgo.Connect(servers,
		natsgo.Name(name),
		natsgo.NoEcho(),
		natsgo.RetryOnFailedConnect(true),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(250*time.Millisecond),
		natsgo.ReconnectJitter(250*time.Millisecond, time.Second),
		natsgo.ReconnectBufSize(-1), // never buffer: Publish while disconnected drops at once
		natsgo.PingInterval(5*time.Second),
		natsgo.MaxPingsOutstanding(2),
		natsgo.Timeout(2*time.Second),
		natsgo.ConnectHandler(func(*natsgo.Conn) { b.log.Info("connected to NATS") }),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			b.log.Warn("disconnected from NATS; events for other nodes are dropped until it is back", "err", err)
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) {
			b.outage.Store(false)
			b.log.Info("reconnected to NATS", "dropped_total", b.dropped.Load())
			b.flushTail()
			b.mu.Lock()
			hooks := append([]func(){}, b.hooks...)
			b.mu.Unlock()
			for _, fn := range hooks {
				go fn()
			}
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			b.log.Warn("NATS error", "err", err)
		}),
	)
	if err != nil {
		return nil, parley.Unavailable(fmt.Errorf("nats connect: %w", err))
	}
	b.sub, err = b.nc.Subscribe(subject, b.receive)
	if err != nil {
		b.nc.Close()
		return nil, parley.Unavailable(fmt.Errorf("nats subscribe: %w", err))
	}
	// Generous pending limits: receive only copies into local queues, so
	// NATS drops for a slow consumer only under a pathological backlog.
	_ = b.sub.SetPendingLimits(1<<20, 512<<20)
	if b.nc.IsConnected() {
		// One round trip: the server has registered the subscription when
		// Open returns, so events published from then on reach this node.
		_ = b.nc.FlushTimeout(2 * time.Second)
	}
	return b, nil
}

// OnReconnect registers fn to be called (on a goroutine of its own) each
// time the connection to NATS comes back after it was lost. Events for
// other nodes published during the outage were dropped, so a gateway can use
// this to tell its clients to resync the conversations they hold.
func (b *Bus) OnReconnect(fn func()) {
	b.mu.Lock()
	b.hooks = append(b.hooks, fn)
	b.mu.Unlock()
}

// Connected reports whether the connection to NATS is up right now.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Stats returns the Bus's counters.
func (b *Bus) Stats() Stats {
	return Stats{Published: b.published.Load(), Received: b.received.Load(),
		Dropped: b.dropped.Load(), Malformed: b.malformed.Load()}
}

// Publish delivers e to this node's subscribers and sends it to the other
// nodes. It never blocks on the network: when NATS is unreachable the event
// is dropped for other nodes (see the package comment) and Publish still
// returns nil. It fails (CodeUnavailable) only after Close.
func (b *Bus) Publish(ctx context.Context, e parley.Event) error {
	if err := b.local.Publish(ctx, e); err != nil {
		return err // closed
	}

	if !b.nc.IsConnected() {
		b.drop(e, nil)
		return nil
	}
	buf := bufPool.Get().(*[]byte)
	data := appendEvent((*buf)[:0], e)
	err := b.nc.Publish(b.subject, data) // copies data into the connection's buffer
	*buf = data[:0]
	if cap(data) <= 64<<10 {
		bufPool.Put(buf)
	}
	if err != nil {
		b.drop(e, err)
		return nil
	}
	b.published.Add(1)
	return nil
}

// maxTail bounds the conversations whose last dropped message is kept for
// republishing after an outage.
const maxTail = 100_000

// flushTail republishes, once NATS is back, the last message event of
// every conversation that had one dropped during the outage. Without it, a
// client on another node whose conversation got its last messages during
// the outage would not learn of them until the next message there: the
// republished event (seq beyond what it holds) makes it fetch the gap from
// the store, and clients that have it already drop it as a duplicate (the
// resync rule of docs/protocol.md). Local subscribers had the event at
// once and do not get it again (no-echo).
func (b *Bus) flushTail() {
	b.mu.Lock()
	tail := b.tail
	b.tail = nil
	b.mu.Unlock()
	for _, e := range tail {
		if err := b.nc.Publish(b.subject, appendEvent(nil, e)); err != nil {
			b.record(e) // gone again: keep it for the next reconnect
			continue
		}
		b.published.Add(1)
	}
}

// record keeps e (a dropped message event) for flushTail.
func (b *Bus) record(e parley.Event) {
	if e.Kind != parley.EventMessage || e.ConversationID == "" {
		return
	}
	b.mu.Lock()
	if b.tail == nil {
		b.tail = map[string]parley.Event{}
	}
	if _, ok := b.tail[e.ConversationID]; ok || len(b.tail) < maxTail {
		b.tail[e.ConversationID] = e // events of one conversation come in seq order
	}
	b.mu.Unlock()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (b *Bus) drop(e parley.Event, err error) {
	b.dropped.Add(1)
	if b.outage.CompareAndSwap(false, true) {
		b.log.Warn("NATS unavailable; dropping events for other nodes (clients recover by resync)", "err", err)
	}
	b.record(e)
	if b.nc.IsConnected() {
		b.flushTail() // the connection came back while this event was dropped
	}
}

// receive handles one message from another node. NATS calls it from one
// goroutine, in arrival order.
func (b *Bus) receive(m *natsgo.Msg) {
	e, err := decodeEvent(m.Data)
	if err != nil {
		if b.malformed.Add(1) == 1 {
			b.log.Warn("ignoring malformed event from NATS", "err", err, "bytes", len(m.Data))
		}
		return
	}
	b.received.Add(1)
	_ = b.local.Publish(context.Background(), e) // fails only after Close
}

// Subscribe registers fn to receive every event, from this node and from
// the others. The returned function stops delivery and waits for an fn call
// in progress to return.
func (b *Bus) Subscribe(fn func(parley.Event)) (func(), error) {
	return b.local.Subscribe(fn)
}

// Close unsubscribes, closes the NATS connection and stops every
// subscription. Later Publish and Subscribe calls fail.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		_ = b.local.Close() // later Publish and Subscribe fail; subscriptions stop
		_ = b.sub.Unsubscribe()
		if b.nc.IsConnected() {
			// Events published just before Close (a command-line tool's) still
			// leave: Publish only buffers them in the connection.
			_ = b.nc.FlushTimeout(time.Second)
		}
		b.nc.Close()
	})
	return nil
}
