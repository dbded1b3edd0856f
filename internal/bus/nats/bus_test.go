package nats_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/bus/nats"
	"github.com/parley-chat/parley/internal/bus/nats/natstest"
)

func open(t *testing.T, url string) *nats.Bus {
	t.Helper()
	b, err := nats.Open(nats.Options{URL: url, Name: t.Name()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// collector records the events one subscription receives.
type collector struct {
	mu     sync.Mutex
	events []parley.Event
	cond   *sync.Cond
}

func subscribe(t *testing.T, b parley.Bus) *collector {
	t.Helper()
	c := &collector{}
	c.cond = sync.NewCond(&c.mu)
	unsub, err := b.Subscribe(func(e parley.Event) {
		c.mu.Lock()
		c.events = append(c.events, e)
		c.mu.Unlock()
		c.cond.Broadcast()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
	return c
}

// wait blocks until c holds at least n events or 10 s pass, and returns them.
func (c *collector) wait(t *testing.T, n int) []parley.Event {
	t.Helper()
	deadline := time.AfterFunc(10*time.Second, c.cond.Broadcast)
	defer deadline.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.events) < n && time.Since(start) < 10*time.Second {
		c.cond.Wait()
	}
	if len(c.events) < n {
		t.Fatalf("got %d events, want %d", len(c.events), n)
	}
	return append([]parley.Event(nil), c.events...)
}

// waitKind waits until c holds at least n events of kind and returns them.
func (c *collector) waitKind(t *testing.T, kind parley.EventKind, n int) []parley.Event {
	t.Helper()
	var got []parley.Event
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		got = got[:0]
		c.mu.Lock()
		for _, e := range c.events {
			if e.Kind == kind {
				got = append(got, e)
			}
		}
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
	}
	t.Fatalf("got %d %s events, want %d", len(got), kind, n)
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func event(i int) parley.Event {
	return parley.Event{
		Kind:           parley.EventMessage,
		ConversationID: "c1",
		UserIDs:        []string{"u1", "u2"},
		SessionIDs:     []string{"s1"},
		Join:           []string{"u3"},
		Frame:          []byte(fmt.Sprintf(`{"type":"message","message":{"seq":%d}}`, i)),
	}
}

// Every event published on one node reaches every subscriber on every node
// exactly once, in publish order, with the Frame bytes unchanged.
func TestCrossNodeDeliveryInOrder(t *testing.T) {
	t.Parallel()
	url := natstest.ClusterURL(t)
	a, b, c := open(t, url), open(t, url), open(t, url)
	ca, cb, cc := subscribe(t, a), subscribe(t, b), subscribe(t, c)
	cb2 := subscribe(t, b)
	waitConnected(t, a, b, c)
	// A subscription is live on the server only after a round trip; give
	// the others a probe to see before the real stream starts.
	probe(t, a, cb, cc)
	const n = 500
	for i := 0; i < n; i++ {
		if err := a.Publish(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	for name, col := range map[string]*collector{"a": ca, "b": cb, "b2": cb2, "c": cc} {
		got := col.waitKind(t, parley.EventMessage, n)
		for i, e := range got {
			want := event(i)
			if e.Kind != want.Kind || e.ConversationID != want.ConversationID || !bytes.Equal(e.Frame, want.Frame) ||
				fmt.Sprint(e.UserIDs, e.SessionIDs, e.Join, e.Leave) != fmt.Sprint(want.UserIDs, want.SessionIDs, want.Join, want.Leave) {
				t.Fatalf("%s: event %d = %+v, want %+v", name, i, e, want)
			}
		}
	}
	time.Sleep(100 * time.Millisecond) // would expose a duplicate delivery
	for name, col := range map[string]*collector{"a": ca, "b": cb, "c": cc} {
		if got := len(col.waitKind(t, parley.EventMessage, n)); got != n {
			t.Fatalf("%s got %d message events, want %d (no duplicates)", name, got, n)
		}
	}
}

// probe publishes from a until every collector has seen an event from it.
func probe(t *testing.T, a *nats.Bus, cols ...*collector) {
	t.Helper()
	for i := 0; i < 200; i++ {
		_ = a.Publish(context.Background(), parley.Event{Kind: parley.EventTyping, ConversationID: "probe"})
		ok := true
		for _, c := range cols {
			if c.len() == 0 {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("probe events never arrived")
}

func waitConnected(t *testing.T, buses ...*nats.Bus) {
	t.Helper()
	for i := 0; i < 400; i++ {
		ok := true
		for _, b := range buses {
			ok = ok && b.Connected()
		}
		if ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("buses did not connect")
}

// Buses on different subjects (clusters) do not see each other's events.
func TestSubjectsIsolateClusters(t *testing.T) {
	t.Parallel()
	a := open(t, natstest.ClusterURL(t))
	b := open(t, natstest.ClusterURL(t))
	b2 := open(t, natstest.URL(t)+"?subject="+natstest.Subject())
	cb, cb2 := subscribe(t, b), subscribe(t, b2)
	ca := subscribe(t, a)
	waitConnected(t, a, b, b2)
	for i := 0; i < 50; i++ {
		_ = a.Publish(context.Background(), event(i))
	}
	ca.wait(t, 50)
	time.Sleep(200 * time.Millisecond)
	if cb.len() != 0 || cb2.len() != 0 {
		t.Fatalf("other clusters received %d and %d events", cb.len(), cb2.len())
	}
}

// With NATS unreachable, Open succeeds, Publish neither blocks nor fails,
// local subscribers still get every event, and the drops are counted.
func TestPublishWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	srv := natstest.StartServer(t)
	srv.Stop()
	b := open(t, srv.URL())
	c := subscribe(t, b)
	start := time.Now()
	for i := 0; i < 1000; i++ {
		if err := b.Publish(context.Background(), event(i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	c.wait(t, 1000)
	if st := b.Stats(); st.Dropped != 1000 || st.Published != 0 {
		t.Fatalf("stats %+v, want 1000 dropped", st)
	}
	t.Logf("1000 publishes while NATS was down took %v", time.Since(start))
}

// A node whose NATS server dies and comes back reconnects and resubscribes
// by itself, and cross-node delivery resumes.
func TestReconnectsAfterNATSRestart(t *testing.T) {
	t.Parallel()
	srv := natstest.StartServer(t)
	a, b := open(t, srv.URL()), open(t, srv.URL())
	reconnected := make(chan struct{}, 1)
	b.OnReconnect(func() { reconnected <- struct{}{} })
	cb := subscribe(t, b)
	waitConnected(t, a, b)
	probe(t, a, cb)

	srv.Stop()
	for i := 0; i < 100; i++ { // while down: no blocking, no error
		if err := a.Publish(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	srv.Start()
	waitConnected(t, a, b)
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("OnReconnect hook not called")
	}
	before := cb.len()
	for i := 0; i < 400; i++ { // until b's subscription is back on the server
		_ = a.Publish(context.Background(), event(i))
		if cb.len() > before {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("no event crossed nodes after NATS came back")
}

func TestClosedBusRefuses(t *testing.T) {
	t.Parallel()
	srv := natstest.StartServer(t)
	b, err := nats.Open(nats.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	c := subscribe(t, b)
	_ = b.Publish(context.Background(), event(1))
	c.wait(t, 1)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event(2)); !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("publish after close: %v", err)
	}
	if _, err := b.Subscribe(func(parley.Event) {}); !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("subscribe after close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, url := range []string{
		"nats://127.0.0.1:1?subject=a.*",
		"nats://127.0.0.1:1?subject=a..b",
		"nats://127.0.0.1:1?subject=.a",
		"nats://127.0.0.1:1?other=1",
		"nats://127.0.0.1:1?subject=%zz",
	} {
		if _, err := nats.Open(nats.Options{URL: url}); !parley.IsCode(err, parley.CodeInvalid) {
			t.Errorf("%s: got %v, want invalid", url, err)
		}
	}
}
