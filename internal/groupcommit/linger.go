package groupcommit

import (
	"math"
	"time"
)

// Lingering: fewer, larger commits under load.
//
// Every commit costs the store a fixed price whatever its size (SQLite: the
// WAL's fsync, about 80 µs of CPU on the reference VM, and the pages the
// transaction rewrites), and every batch wakes its callers separately. When
// many independent clients send, the committer may therefore wait a little
// after taking a small batch for more ops to arrive, and commit them
// together. It does so only when waiting is likely to pay:
//
//   - the previous batch held at least two ops (ops arrive concurrently: a
//     lone client waiting for each answer never makes the committer wait),
//   - ops arrive fast enough that the wait should bring at least lingerMinOps,
//   - and the batch is still below the fill target.
//
// It stops waiting at the first of: the fill target reached, Max elapsed
// since the batch was taken, or a gap of max(lingerGapMin, 3/rate) without
// a new op (nothing more is coming soon: a few clients that each wait for
// their answer have all sent already). A wait that brought fewer than two
// ops after its first lingerGrace is counted as wasted, and each wasted
// wait doubles the number of batches committed at once before the next try
// (up to lingerSkipMax), so a closed loop of a few clients pays a gap on
// only a small share of its commits.
type Linger struct {
	Max  time.Duration // longest wait after a batch is taken; 0 never waits
	Fill int           // stop waiting at this many ops in the batch
}

const (
	lingerMinOps  = 2                      // expected arrivals within Max for a wait to start
	lingerGapMin  = 500 * time.Microsecond // shortest gap that ends a wait
	lingerGrace   = 200 * time.Microsecond // arrivals this soon do not prove a wait useful
	lingerSkipMax = 32                     // most batches committed at once after wasted waits
	lingerWindow  = 20 * time.Millisecond  // the rate's time constant
	lingerIdle    = 100 * time.Millisecond // a pause this long resets the rate
)

// lingerer is the committer's lingering state. It is used by the committer
// goroutine only.
type lingerer struct {
	cfg      Linger
	rate     float64 // ops per second over the last lingerWindow or so
	ops      float64 // ops and seconds, both decayed with lingerWindow
	span     float64
	last     time.Time
	prevLen  int
	skip     int // batches to commit at once before waiting again
	lastSkip int
}

// plan reports whether to wait after taking a batch of n ops at now, and
// for how long at most (the wait's deadline and its gap).
func (l *lingerer) plan(now time.Time, n int) (deadline time.Time, gap time.Duration, ok bool) {
	if l.cfg.Max <= 0 || n >= l.cfg.Fill || l.prevLen < 2 || now.Sub(l.last) > lingerIdle {
		return time.Time{}, 0, false
	}
	if l.rate*l.cfg.Max.Seconds() < lingerMinOps {
		return time.Time{}, 0, false
	}
	if l.skip > 0 {
		l.skip--
		return time.Time{}, 0, false
	}
	wait := min(l.cfg.Max, time.Duration(float64(l.cfg.Fill-n)/l.rate*float64(time.Second)))
	gap = max(lingerGapMin, time.Duration(3/l.rate*float64(time.Second)))
	return now.Add(wait), gap, true
}

// waited records what a wait brought: late is the number of ops that
// arrived after its first lingerGrace.
func (l *lingerer) waited(late int) {
	if late >= 2 {
		l.lastSkip = 0
		return
	}
	l.lastSkip = min(max(1, 2*l.lastSkip), lingerSkipMax)
	l.skip = l.lastSkip
}

// sealed records a batch of n ops sealed at now (after any wait).
func (l *lingerer) sealed(now time.Time, n int) {
	d := now.Sub(l.last)
	switch {
	case l.last.IsZero() || d > lingerIdle:
		l.rate, l.ops, l.span = 0, 0, 0
	case d > 0:
		// Ops over time, not a mean of per-batch rates: bursts followed by
		// pauses must not read as their burst rate.
		decay := math.Exp(-float64(d) / float64(lingerWindow))
		l.ops = l.ops*decay + float64(n)
		l.span = l.span*decay + d.Seconds()
		l.rate = l.ops / l.span
	}
	l.last, l.prevLen = now, n
}
