package gateway

import (
	"sync/atomic"
	"time"
)

// stacks runs functions on reused goroutines. The gateway's deep work (an
// auth's or a frame's store reads, JSON) needs a stack of tens of KiB; a
// fresh goroutine starts at a few KiB and grows to it by copying its stack
// several times, which in a reconnect storm was ~10 % of server CPU. A
// worker that finished a function waits up to stackIdle for the next one
// and keeps its grown stack meanwhile (the garbage collector shrinks an
// idle worker's stack by half per cycle at most).
//
// do never blocks: with no idle worker it starts a new one, so the number of
// workers follows the concurrency of the work and falls back when idle.
type stacks struct {
	work    chan func() // unbuffered: a send succeeds only to an idle worker
	quit    chan struct{}
	started atomic.Int64 // workers started so far
}

// stackIdle is how long a worker with nothing to do stays.
const stackIdle = 5 * time.Second

func newStacks() *stacks {
	return &stacks{work: make(chan func()), quit: make(chan struct{})}
}

// do runs fn on an idle worker, or on a new one. A panic in fn is not
// recovered (callers recover what they must, as with a go statement).
func (s *stacks) do(fn func()) {
	select {
	case s.work <- fn:
	default:
		s.started.Add(1)
		go s.worker(fn)
	}
}

func (s *stacks) worker(fn func()) {
	t := time.NewTimer(stackIdle)
	defer t.Stop()
	for {
		fn()
		fn = nil // drop what fn captured while idle
		t.Reset(stackIdle)
		select {
		case fn = <-s.work:
		case <-t.C:
			return
		case <-s.quit:
			return
		}
	}
}

// stop makes idle workers end; functions running finish first. do may
// still be called (it then starts a goroutine that ends after fn).
func (s *stacks) stop() { close(s.quit) }
