package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/postgres"
)

func presence(t *testing.T, s *postgres.Store, o postgres.PresenceOptions) *postgres.Presence {
	t.Helper()
	p, err := s.Presence(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func status(t *testing.T, p *postgres.Presence, user string) parley.PresenceStatus {
	t.Helper()
	st, err := p.Status(context.Background(), []string{user})
	if err != nil || len(st) != 1 {
		t.Fatalf("status: %v %v", st, err)
	}
	return st[0]
}

// A user with devices on two nodes is online until the last one, on either
// node, disconnects.
func TestPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	a, b := presence(t, ns[0], postgres.PresenceOptions{}), presence(t, ns[1], postgres.PresenceOptions{})
	ctx := context.Background()
	u := parley.NewID()
	if st := status(t, b, u); st.Online || st.LastSeenAt != nil {
		t.Fatalf("never seen: %+v", st)
	}
	if came, err := a.Connect(ctx, u); err != nil || !came {
		t.Fatalf("first device on node a: came=%v err=%v", came, err)
	}
	if came, err := b.Connect(ctx, u); err != nil || came {
		t.Fatalf("second device on node b: came=%v err=%v", came, err)
	}
	if came, err := b.Connect(ctx, u); err != nil || came {
		t.Fatalf("third device on node b: came=%v err=%v", came, err)
	}
	if st := status(t, a, u); !st.Online {
		t.Fatalf("status %+v", st)
	}
	if went, err := a.Disconnect(ctx, u, time.Now()); err != nil || went {
		t.Fatalf("node a's device leaves: went=%v err=%v", went, err)
	}
	if went, err := b.Disconnect(ctx, u, time.Now()); err != nil || went {
		t.Fatalf("one of node b's devices leaves: went=%v err=%v", went, err)
	}
	at := time.Now()
	if went, err := b.Disconnect(ctx, u, at); err != nil || !went {
		t.Fatalf("last device leaves: went=%v err=%v", went, err)
	}
	st := status(t, a, u)
	if st.Online || st.LastSeenAt == nil || st.LastSeenAt.UnixMilli() != at.UnixMilli() {
		t.Fatalf("after the last device: %+v", st)
	}
	if went, err := b.Disconnect(ctx, u, at); err != nil || went {
		t.Fatalf("unmatched disconnect: went=%v err=%v", went, err)
	}
}

// The last devices of a user leaving two nodes at the same moment take the
// user offline exactly once; the first devices arriving at once bring them
// online at least once and the user ends up online.
func TestPresenceConcurrentTransitions(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	ps := []*postgres.Presence{presence(t, ns[0], postgres.PresenceOptions{}), presence(t, ns[1], postgres.PresenceOptions{})}
	ctx := context.Background()
	for round := 0; round < 30; round++ {
		u := parley.NewID()
		var came, went atomic.Int32
		var wg sync.WaitGroup
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := p.Connect(ctx, u); err != nil {
					t.Error(err)
				} else if ok {
					came.Add(1)
				}
			}()
		}
		wg.Wait()
		if came.Load() < 1 || !status(t, ps[0], u).Online {
			t.Fatalf("round %d: came online %d times; status %+v", round, came.Load(), status(t, ps[0], u))
		}
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := p.Disconnect(ctx, u, time.Now()); err != nil {
					t.Error(err)
				} else if ok {
					went.Add(1)
				}
			}()
		}
		wg.Wait()
		if went.Load() != 1 || status(t, ps[1], u).Online {
			t.Fatalf("round %d: went offline %d times; status %+v", round, went.Load(), status(t, ps[1], u))
		}
	}
}

// When a node dies, the surviving nodes report its users offline within
// the lease (plus one heartbeat), except those still connected elsewhere.
func TestPresenceNodeDeath(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	const lease = 600 * time.Millisecond
	offline := make(chan parley.PresenceStatus, 10)
	dying, err := ns[0].Presence(context.Background(), postgres.PresenceOptions{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	survivor := presence(t, ns[1], postgres.PresenceOptions{Lease: lease, Notify: func(st parley.PresenceStatus) {
		offline <- st
	}})
	ctx := context.Background()
	alone, both := parley.NewID(), parley.NewID()
	for _, u := range []string{alone, both} {
		if _, err := dying.Connect(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := survivor.Connect(ctx, both); err != nil {
		t.Fatal(err)
	}
	dying.Abandon() // crash: no Disconnect, no cleanup
	select {
	case st := <-offline:
		if st.UserID != alone || st.Online || st.LastSeenAt == nil {
			t.Fatalf("notified %+v, want %s offline", st, alone)
		}
	case <-time.After(20 * lease):
		t.Fatal("the dead node's user was never reported offline")
	}
	if st := status(t, survivor, alone); st.Online {
		t.Fatalf("dead node's user: %+v", st)
	}
	if st := status(t, survivor, both); !st.Online {
		t.Fatalf("user also connected to the survivor: %+v", st)
	}
	select {
	case st := <-offline:
		t.Fatalf("unexpected notification %+v", st)
	case <-time.After(2 * lease):
	}
}
