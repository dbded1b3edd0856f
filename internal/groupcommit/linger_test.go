package groupcommit

import (
	"testing"
	"time"
)

// steady feeds l batches of n ops every d, as a committer sealing them
// would, starting at t; it returns the time after the last one.
func steady(l *lingerer, t time.Time, n int, d time.Duration, count int) time.Time {
	for range count {
		t = t.Add(d)
		l.sealed(t, n)
	}
	return t
}

// TestLingerPlan: the committer waits only when ops arrive concurrently and
// fast, for at most Max or until Fill, with a gap of max(500 µs, 3/rate).
func TestLingerPlan(t *testing.T) {
	cfg := Linger{Max: 2 * time.Millisecond, Fill: 64}
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

	// A lone client: one op per batch, however fast.
	l := &lingerer{cfg: cfg}
	now := steady(l, t0, 1, 50*time.Microsecond, 50)
	if _, _, ok := l.plan(now.Add(10*time.Microsecond), 1); ok {
		t.Error("waited after batches of one op")
	}
	// A trickle: 2 ops every 10 ms (200/s) is below 2 ops per 2 ms.
	l = &lingerer{cfg: cfg}
	now = steady(l, t0, 2, 10*time.Millisecond, 50)
	if _, _, ok := l.plan(now.Add(time.Millisecond), 2); ok {
		t.Errorf("waited at %.0f ops/s", l.rate)
	}
	// Many clients: 4 ops every 1 ms (4,000/s).
	l = &lingerer{cfg: cfg}
	now = steady(l, t0, 4, time.Millisecond, 50)
	if l.rate < 3900 || l.rate > 4100 {
		t.Fatalf("rate %.0f ops/s, want 4,000", l.rate)
	}
	at := now.Add(300 * time.Microsecond)
	deadline, gap, ok := l.plan(at, 3)
	if !ok {
		t.Fatal("did not wait at 4,000 ops/s in batches of 4")
	}
	if got := deadline.Sub(at); got != cfg.Max {
		t.Errorf("wait %v, want Max %v (61 more ops take longer)", got, cfg.Max)
	}
	if gap < 740*time.Microsecond || gap > 760*time.Microsecond {
		t.Errorf("gap %v, want 3/rate = 750 µs", gap)
	}
	if _, _, ok := l.plan(at, 64); ok {
		t.Error("waited with a full batch")
	}
	// Near the fill target the wait is the time the missing ops take.
	if deadline, _, ok := l.plan(at, 60); !ok || deadline.Sub(at) > 1100*time.Microsecond || deadline.Sub(at) < 900*time.Microsecond {
		t.Errorf("4 ops short of Fill: wait %v (ok %v), want ~1 ms", deadline.Sub(at), ok)
	}
	// At a high rate the gap is never below 500 µs.
	fast := &lingerer{cfg: cfg}
	now2 := steady(fast, t0, 40, time.Millisecond, 50)
	if _, gap, ok := fast.plan(now2, 40); !ok || gap != lingerGapMin {
		t.Errorf("at %.0f ops/s: gap %v (ok %v), want %v", fast.rate, gap, ok, lingerGapMin)
	}

	// Wasted waits: each doubles the batches committed at once before the
	// next try, up to lingerSkipMax; a useful wait resets it.
	tries := func() (skipped int) {
		for {
			if _, _, ok := l.plan(at, 3); ok {
				return skipped
			}
			skipped++
			if skipped > 100 {
				t.Fatal("never waits again")
			}
		}
	}
	for _, want := range []int{1, 2, 4, 8, 16, 32, 32} {
		l.waited(1)
		if got := tries(); got != want {
			t.Fatalf("after a wasted wait: %d batches without waiting, want %d", got, want)
		}
	}
	l.waited(2)
	if got := tries(); got != 0 {
		t.Errorf("after a useful wait: %d batches without waiting, want 0", got)
	}

	// A pause resets the rate: the first batches after it never wait.
	now = now.Add(time.Second)
	if _, _, ok := l.plan(now, 2); ok {
		t.Error("waited after a pause")
	}
	l.sealed(now, 2)
	if l.rate != 0 {
		t.Errorf("rate after a pause %.0f, want 0", l.rate)
	}

	// Lingering off.
	off := &lingerer{cfg: Linger{}}
	steady(off, t0, 4, time.Millisecond, 50)
	if _, _, ok := off.plan(now, 2); ok {
		t.Error("waited with Max 0")
	}
}
