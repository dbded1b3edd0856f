package app_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
)

func TestLimiterBurstRefillAndRetryAfter(t *testing.T) {
	clock := &acctClock{t: time.Unix(1_700_000_000, 0)}
	l := app.NewLimiter(1, 3, clock.Now) // 1 per second, bursts of 3
	for i := range 3 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("token %d refused", i)
		}
	}
	ok, wait := l.Allow("k")
	if ok || wait != time.Second {
		t.Fatalf("4th: ok %v wait %v; want refused, 1s", ok, wait)
	}
	if w := l.Wait("k"); w != time.Second {
		t.Fatalf("Wait = %v", w)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("keys are not independent")
	}
	clock.Add(500 * time.Millisecond)
	if ok, wait := l.Allow("k"); ok || wait != 500*time.Millisecond {
		t.Fatalf("half refilled: ok %v wait %v", ok, wait)
	}
	clock.Add(500 * time.Millisecond)
	if l.Wait("k") != 0 {
		t.Fatal("Wait should be 0 with a token available")
	}
	if l.Wait("k") != 0 { // Wait takes nothing
		t.Fatal("Wait consumed a token")
	}
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refilled token refused")
	}
	clock.Add(time.Hour) // refills to burst, not beyond
	for range 3 {
		l.Allow("k")
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("bucket grew past burst")
	}
	l.Reset("k")
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("Reset did not refill")
	}
	l.Allow("g")
	l.Allow("g")
	l.Give("g", 1)
	l.Give("g", 5) // capped at burst
	for range 3 {
		if ok, _ := l.Allow("g"); !ok {
			t.Fatal("Give did not return tokens")
		}
	}
	if ok, _ := l.Allow("g"); ok {
		t.Fatal("Give overfilled past burst")
	}
	if ok, _ := l.AllowN("n", 4); ok {
		t.Fatal("AllowN above burst allowed")
	}
	if ok, _ := l.AllowN("n", 3); !ok {
		t.Fatal("AllowN of burst refused")
	}
	clock.Add(-time.Hour) // a clock going backwards adds nothing
	if ok, _ := l.Allow("n"); ok {
		t.Fatal("backwards clock refilled")
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	clock := &acctClock{t: time.Unix(1_700_000_000, 0)}
	l := app.NewLimiter(10, 2, clock.Now)
	for i := range 50_000 {
		l.Allow(fmt.Sprint("addr-", i))
		if i%1000 == 999 {
			clock.Add(time.Second) // earlier keys refill and become forgettable
		}
	}
	if n := l.Len(); n > 20_000 {
		t.Fatalf("limiter remembers %d keys; full buckets should be swept", n)
	}
}

func TestLimiterConcurrentUse(t *testing.T) {
	l := app.NewLimiter(0.001, 100, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if ok, _ := l.Allow("shared"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
				l.Allow(fmt.Sprint(g, "-", i))
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("allowed %d of 400 on a burst of 100", allowed)
	}
}
