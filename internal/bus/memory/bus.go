// Package memory is the in-process parley.Bus used by a single node.
package memory

import (
	"context"
	"sync"

	"github.com/parley-chat/parley"
)

var _ parley.Bus = (*Bus)(nil)

// Bus delivers every published event to every subscriber in this process.
// Publish never blocks on a subscriber: each subscription has its own queue,
// drained by its own goroutine in publish order.
type Bus struct {
	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
}

// New returns an empty Bus.
func New() *Bus { return &Bus{subs: make(map[*subscription]struct{})} }

type subscription struct {
	fn     func(parley.Event)
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []parley.Event
	closed bool
	done   chan struct{}
}

// Publish queues e for every subscriber. Events published by one goroutine
// reach each subscriber in publish order. It fails only after Close.
func (b *Bus) Publish(ctx context.Context, e parley.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return parley.Errorf(parley.CodeUnavailable, "bus closed")
	}
	for s := range b.subs {
		s.mu.Lock()
		s.queue = append(s.queue, e)
		s.mu.Unlock()
		s.cond.Signal()
	}
	return nil
}

// Subscribe registers fn. The returned function stops delivery and waits for
// an fn call in progress to return.
func (b *Bus) Subscribe(fn func(parley.Event)) (func(), error) {
	s := &subscription{fn: fn, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, parley.Errorf(parley.CodeUnavailable, "bus closed")
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			s.stop()
		})
	}, nil
}

func (s *subscription) run() {
	defer close(s.done)
	var batch []parley.Event
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for i := range batch {
			s.fn(batch[i])
			batch[i] = parley.Event{}
		}
	}
}

func (s *subscription) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cond.Signal()
	<-s.done
}

// Close stops every subscription. Later Publish and Subscribe calls fail.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	for s := range subs {
		s.stop()
	}
	return nil
}
