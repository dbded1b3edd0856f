// Package groupcommit is the write queue both stores batch through (group
// commit). Callers submit ops; one committer goroutine takes every op
// queued while the previous batch ran (up to a maximum) and hands the batch
// to the store, which commits it (how — one transaction with savepoints,
// set-based statements — is the store's business). A notifier goroutine
// then calls the ops' notify hooks in the commit order the store reports,
// and only after that wakes their callers: hooks (event publication) run in
// seq order per conversation and before the ack.
package groupcommit

import (
	"context"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// Op is the part of a store's op that the queue handles. A store's op type
// embeds it.
type Op struct {
	Ctx    context.Context // the submitter's; the store skips ops whose Ctx is done
	Notify func()          // called after the commit, in commit order, if Err is nil; may be nil
	Err    error           // the op's outcome, set by the store
	done   chan struct{}
}

// Base returns o itself; through embedding it gives Queue access to a
// store's op.
func (o *Op) Base() *Op { return o }

// Finish calls o's notify hook (if o succeeded) and wakes its caller. The
// notifier does it for batched ops; a store that runs ops elsewhere (the
// PostgreSQL lanes) calls it itself, in its commit order.
func Finish(o *Op) {
	if o.Err == nil && o.Notify != nil {
		o.Notify()
	}
	close(o.done)
}

// Item is a store's op type.
type Item interface{ Base() *Op }

// Queue is one committer goroutine and its notifier.
type Queue[T Item] struct {
	ops     chan T
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
	running sync.WaitGroup
}

// Start starts a queue. run commits one batch (at most max ops, in
// submission order) and returns its ops in commit order; after (may be
// nil) runs on the committer goroutine once the batch went to the
// notifier, for upkeep that must not delay acks.
func Start[T Item](max int, run func(batch []T) []T, after func()) *Queue[T] {
	return StartLinger(max, Linger{}, run, after)
}

// StartLinger is Start with a committer that may wait after taking a small
// batch for more ops to arrive (linger.go): fewer, larger commits under
// load, for up to linger.Max more latency.
func StartLinger[T Item](max int, linger Linger, run func(batch []T) []T, after func()) *Queue[T] {
	q := &Queue[T]{ops: make(chan T, max), quit: make(chan struct{}), stopped: make(chan struct{})}
	notifyq := make(chan []T, 64)
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		for batch := range notifyq {
			for _, o := range batch {
				Finish(o.Base())
			}
		}
	}()
	q.Go(func() {
		defer func() { close(notifyq); <-notified }()
		l := &lingerer{cfg: linger}
		l.cfg.Fill = min(max, l.cfg.Fill)
		var timer *time.Timer
		for {
			var first T
			select {
			case first = <-q.ops:
			case <-q.quit:
				return
			}
			batch := []T{first}
		drain:
			for len(batch) < max {
				select {
				case o := <-q.ops:
					batch = append(batch, o)
				default:
					break drain
				}
			}
			start := time.Now()
			if deadline, gap, ok := l.plan(start, len(batch)); ok {
				if timer == nil {
					timer = time.NewTimer(time.Hour)
				}
				batch = q.linger(batch, l, timer, start, deadline, gap)
			}
			l.sealed(time.Now(), len(batch))
			notifyq <- run(batch)
			if after != nil {
				after()
			}
		}
	})
	go func() {
		q.running.Wait()
		close(q.stopped)
	}()
	return q
}

// linger adds to batch the ops that arrive before deadline, until the
// batch has l.cfg.Fill ops or no op came for gap (linger.go), and tells l
// what the wait brought.
func (q *Queue[T]) linger(batch []T, l *lingerer, timer *time.Timer, start, deadline time.Time, gap time.Duration) []T {
	late, grace := 0, start.Add(lingerGrace)
	next := func(now time.Time) time.Duration { return max(0, min(deadline.Sub(now), gap)) }
	timer.Reset(next(start))
	defer func() {
		timer.Stop()
		l.waited(late)
	}()
	for len(batch) < l.cfg.Fill {
		select {
		case o := <-q.ops:
			batch = append(batch, o)
			now := time.Now()
			if now.After(grace) {
				late++
			}
			if !now.Before(deadline) {
				return batch
			}
			timer.Reset(next(now))
		case <-timer.C:
			return batch
		case <-q.quit:
			return batch
		}
	}
	return batch
}

// Go runs fn on a goroutine of the queue's own: Close waits for it. fn must
// return once Quit is closed. Call Go before Close.
func (q *Queue[T]) Go(fn func()) {
	q.running.Add(1)
	go func() {
		defer q.running.Done()
		fn()
	}()
}

// Quit is closed when the queue is closing.
func (q *Queue[T]) Quit() <-chan struct{} { return q.quit }

// Submit queues o for the committer and waits as SubmitTo does.
func (q *Queue[T]) Submit(ctx context.Context, o T) error { return q.SubmitTo(ctx, q.ops, o) }

// SubmitTo queues o on ch (the committer's queue, or another FIFO the store
// drains on a goroutine of Go) and waits until o committed or failed and
// its hook ran. Once o is queued its place in the commit order is fixed,
// and parley.Queued(ctx) says so (pipelining). A caller whose ctx ends
// while o waits gets CodeUnavailable; o may still commit (an idempotent
// retry finds it).
func (q *Queue[T]) SubmitTo(ctx context.Context, ch chan T, o T) error {
	if err := ctx.Err(); err != nil {
		return Cancelled(err)
	}
	b := o.Base()
	b.Ctx, b.done = ctx, make(chan struct{})
	select {
	case ch <- o:
		parley.Queued(ctx) // ch is FIFO: o's place among this node's writes is fixed
	case <-q.quit:
		return errClosed()
	case <-ctx.Done():
		return Cancelled(ctx.Err())
	}
	select {
	case <-b.done:
		return b.Err
	case <-q.stopped:
		select {
		case <-b.done:
			return b.Err
		default:
			return errClosed()
		}
	case <-ctx.Done():
		return Cancelled(ctx.Err())
	}
}

// Close stops the queue: ops not yet taken fail with CodeUnavailable, and
// Close returns once every goroutine of the queue has ended and every
// batch taken has been notified.
func (q *Queue[T]) Close() {
	q.once.Do(func() { close(q.quit) })
	<-q.stopped
}

// Cancelled is the error of an op whose context ended.
func Cancelled(err error) error {
	return &parley.Error{Code: parley.CodeUnavailable, Message: "request cancelled or timed out", Err: err}
}

func errClosed() error { return parley.Errorf(parley.CodeUnavailable, "store closed") }
