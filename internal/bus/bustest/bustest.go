// Package bustest is the conformance suite every parley.Bus implementation
// runs (the in-process bus, the NATS bus). It checks the contract written on
// parley.Bus: delivery to every subscriber on every node, publish order per
// publisher, faithful events, unsubscribe, no blocking on slow subscribers,
// and Close.
package bustest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// Opener prepares one shared medium for a test and returns a function that
// opens a node's Bus on it. For an in-process bus every call may return the
// same Bus; for a networked bus each call opens a new connection to the same
// server and subject. Buses opened are closed by the Opener's t.Cleanup.
type Opener func(t *testing.T) (node func() parley.Bus)

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	t.Run("DeliversToEverySubscriberOnEveryNode", func(t *testing.T) { testFanOut(t, open) })
	t.Run("EventsArriveIntact", func(t *testing.T) { testIntact(t, open) })
	t.Run("PublishOrderPerPublisher", func(t *testing.T) { testOrder(t, open) })
	t.Run("ConcurrentPublishers", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("Unsubscribe", func(t *testing.T) { testUnsubscribe(t, open) })
	t.Run("SlowSubscriberDoesNotBlockPublish", func(t *testing.T) { testSlow(t, open) })
	t.Run("Close", func(t *testing.T) { testClose(t, open) })
}

// patience bounds every wait: a bus that loses or blocks fails the test
// instead of hanging it. It is a liveness bound, not a performance claim.
const patience = 20 * time.Second

type collector struct {
	mu     sync.Mutex
	cond   *sync.Cond
	events []parley.Event
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
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(unsub)
	return c
}

// wait returns the first n events, failing if they do not all arrive.
func (c *collector) wait(t *testing.T, n int) []parley.Event {
	t.Helper()
	stop := time.AfterFunc(patience, c.cond.Broadcast)
	defer stop.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.events) < n && time.Since(start) < patience {
		c.cond.Wait()
	}
	if len(c.events) < n {
		t.Fatalf("received %d events, want %d", len(c.events), n)
	}
	return append([]parley.Event(nil), c.events[:n]...)
}

// settle publishes a marker and waits for it, so that earlier events have
// had every chance to arrive. Returns the events before the marker.
func settle(t *testing.T, pub parley.Bus, c *collector) []parley.Event {
	t.Helper()
	marker := "settle-" + parley.NewID()
	if err := pub.Publish(context.Background(), parley.Event{Kind: parley.EventTyping, ConversationID: marker}); err != nil {
		t.Fatalf("publish marker: %v", err)
	}
	stop := time.AfterFunc(patience, c.cond.Broadcast)
	defer stop.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for time.Since(start) < patience {
		for i, e := range c.events {
			if e.ConversationID == marker {
				return append([]parley.Event(nil), c.events[:i]...)
			}
		}
		c.cond.Wait()
	}
	t.Fatal("marker never arrived")
	return nil
}

func event(i int) parley.Event {
	return parley.Event{Kind: parley.EventMessage, ConversationID: "c", Frame: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

func testFanOut(t *testing.T, open Opener) {
	node := open(t)
	a, b := node(), node()
	subs := []*collector{subscribe(t, a), subscribe(t, a), subscribe(t, b)}
	if err := a.Publish(context.Background(), event(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event(2)); err != nil {
		t.Fatal(err)
	}
	for i, c := range subs {
		got := c.wait(t, 2)
		seen := map[string]bool{}
		for _, e := range got {
			seen[string(e.Frame)] = true
		}
		if !seen[`{"n":1}`] || !seen[`{"n":2}`] {
			t.Errorf("subscriber %d got %q", i, got)
		}
	}
}

func testIntact(t *testing.T, open Opener) {
	node := open(t)
	a, b := node(), node()
	c := subscribe(t, b)
	frame := make([]byte, 64<<10)
	for i := range frame {
		frame[i] = byte('a' + i%26)
	}
	want := []parley.Event{
		{Kind: parley.EventMemberJoined, ConversationID: parley.NewID(), UserIDs: []string{"u1", "u2"},
			SessionIDs: []string{"s1"}, Join: []string{"u3"}, Leave: []string{"u4", "u5"}, Frame: []byte(`{"type":"member_joined","x":"é ✓"}`)},
		{Kind: parley.EventSessionRevoked, SessionIDs: []string{"s9"}},
		{Kind: parley.EventMessage, ConversationID: "c", Frame: frame},
	}
	for _, e := range want {
		if err := a.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	got := c.wait(t, len(want))
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.ConversationID != w.ConversationID || !bytes.Equal(g.Frame, w.Frame) ||
			!sameStrings(g.UserIDs, w.UserIDs) || !sameStrings(g.SessionIDs, w.SessionIDs) ||
			!sameStrings(g.Join, w.Join) || !sameStrings(g.Leave, w.Leave) {
			t.Errorf("event %d: got %+v, want %+v", i, g, w)
		}
	}
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func testOrder(t *testing.T, open Opener) {
	node := open(t)
	a, b := node(), node()
	ca, cb := subscribe(t, a), subscribe(t, b)
	const n = 2000
	for i := 0; i < n; i++ {
		if err := a.Publish(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]*collector{"same node": ca, "other node": cb} {
		got := c.wait(t, n)
		for i, e := range got {
			if want := fmt.Sprintf(`{"n":%d}`, i); string(e.Frame) != want {
				t.Fatalf("%s: event %d is %s, want %s", name, i, e.Frame, want)
			}
		}
	}
}

func testConcurrent(t *testing.T, open Opener) {
	node := open(t)
	pubs := []parley.Bus{node(), node()}
	c := subscribe(t, node())
	const publishers, each = 8, 200
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			b := pubs[p%len(pubs)]
			for i := 0; i < each; i++ {
				e := parley.Event{Kind: parley.EventMessage, ConversationID: fmt.Sprint(p), Frame: []byte(fmt.Sprint(i))}
				if err := b.Publish(context.Background(), e); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		}(p)
	}
	wg.Wait()
	got := c.wait(t, publishers*each)
	next := map[string]int{}
	for _, e := range got {
		if want := fmt.Sprint(next[e.ConversationID]); string(e.Frame) != want {
			t.Fatalf("publisher %s: got event %s, want %s", e.ConversationID, e.Frame, want)
		}
		next[e.ConversationID]++
	}
}

func testUnsubscribe(t *testing.T, open Opener) {
	node := open(t)
	b := node()
	keep := subscribe(t, b)
	var mu sync.Mutex
	calls := 0
	unsub, err := b.Subscribe(func(parley.Event) { mu.Lock(); calls++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event(1)); err != nil {
		t.Fatal(err)
	}
	keep.wait(t, 1)
	unsub()
	unsub() // idempotent
	mu.Lock()
	before := calls
	mu.Unlock()
	for i := 0; i < 10; i++ {
		_ = b.Publish(context.Background(), event(i))
	}
	settle(t, b, keep)
	mu.Lock()
	defer mu.Unlock()
	if calls != before {
		t.Errorf("%d calls after unsubscribe returned", calls-before)
	}
}

func testSlow(t *testing.T, open Opener) {
	node := open(t)
	b := node()
	release := make(chan struct{})
	unsub, err := b.Subscribe(func(parley.Event) { <-release })
	if err != nil {
		t.Fatal(err)
	}
	fast := subscribe(t, b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			_ = b.Publish(context.Background(), event(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("Publish blocked behind a subscriber that does not return")
	}
	fast.wait(t, 1000)
	close(release)
	unsub()
}

func testClose(t *testing.T, open Opener) {
	node := open(t)
	b := node()
	c := subscribe(t, b)
	if err := b.Publish(context.Background(), event(1)); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 1)
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := b.Publish(context.Background(), event(2)); err == nil {
		t.Error("Publish after Close succeeded")
	}
	if _, err := b.Subscribe(func(parley.Event) {}); err == nil {
		t.Error("Subscribe after Close succeeded")
	}
}
