package presence_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/presence"
)

func TestLocal(t *testing.T) {
	ctx := context.Background()
	p := presence.NewLocal()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	if came, _ := p.Connect(ctx, "a"); !came {
		t.Error("first connection must bring a online")
	}
	if came, _ := p.Connect(ctx, "a"); came {
		t.Error("second device must not announce again")
	}
	if went, _ := p.Disconnect(ctx, "a", at); went {
		t.Error("a still has a device")
	}
	st, _ := p.Status(ctx, []string{"a", "b"})
	if !st[0].Online || st[0].LastSeenAt != nil || st[1].Online || st[1].LastSeenAt != nil || st[1].UserID != "b" {
		t.Errorf("status = %+v", st)
	}
	if went, _ := p.Disconnect(ctx, "a", at); !went {
		t.Error("last device gone: a must go offline")
	}
	st, _ = p.Status(ctx, []string{"a"})
	if st[0].Online || st[0].LastSeenAt == nil || !st[0].LastSeenAt.Equal(at) {
		t.Errorf("after leaving: %+v", st[0])
	}
	if went, _ := p.Disconnect(ctx, "a", at); went {
		t.Error("an unmatched Disconnect must be ignored")
	}

	// Concurrent devices: exactly one online and one offline transition.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ons, offs := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			came, _ := p.Connect(ctx, "c")
			mu.Lock()
			if came {
				ons++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			went, _ := p.Disconnect(ctx, "c", at)
			mu.Lock()
			if went {
				offs++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ons != 1 || offs != 1 {
		t.Errorf("online transitions %d, offline %d; want 1 and 1", ons, offs)
	}
}
