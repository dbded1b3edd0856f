package groupcommit_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/groupcommit"
)

type op struct {
	groupcommit.Op
	n int
}

// TestNotifyInCommitOrderBeforeTheAck: hooks run in the order run returns,
// each before its caller wakes; a failed op's hook does not run.
func TestNotifyInCommitOrderBeforeTheAck(t *testing.T) {
	var mu sync.Mutex
	var notified []int
	var sizes []int
	q := groupcommit.Start(4, func(batch []*op) []*op {
		sizes = append(sizes, len(batch))
		out := make([]*op, len(batch))
		for i, o := range batch { // commit order: reversed
			out[len(batch)-1-i] = o
			if o.n%5 == 0 {
				o.Err = parley.Errorf(parley.CodeInvalid, "refused")
			}
		}
		return out
	}, nil)
	defer q.Close()
	var wg sync.WaitGroup
	for i := 1; i <= 40; i++ {
		wg.Go(func() {
			o := &op{n: i}
			done := false
			o.Notify = func() {
				mu.Lock()
				notified = append(notified, o.n)
				mu.Unlock()
				done = true
			}
			err := q.Submit(context.Background(), o)
			if (i%5 == 0) != parley.IsCode(err, parley.CodeInvalid) {
				t.Errorf("op %d: %v", i, err)
			}
			if err == nil && !done {
				t.Errorf("op %d acked before its hook ran", i)
			}
			if err != nil && done {
				t.Errorf("op %d failed but its hook ran", i)
			}
		})
	}
	wg.Wait()
	if len(notified) != 32 {
		t.Fatalf("%d hooks ran, want 32", len(notified))
	}
	for _, n := range sizes {
		if n > 4 {
			t.Fatalf("batch of %d, max 4", n)
		}
	}
}

func TestSubmitAfterCloseAndCancelled(t *testing.T) {
	block := make(chan struct{})
	q := groupcommit.Start(8, func(batch []*op) []*op { <-block; return batch }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Submit(ctx, &op{}); !parley.IsCode(err, parley.CodeUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- q.Submit(ctx, &op{}) }()
	cancel()
	if err := <-errc; !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	close(block)
	q.Close()
	if err := q.Submit(context.Background(), &op{}); !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("after close: %v", err)
	}
}

// TestGoroutinesEndBeforeClose: Close waits for the queue's extra goroutines.
func TestGoroutinesEndBeforeClose(t *testing.T) {
	q := groupcommit.Start(1, func(b []*op) []*op { return b }, nil)
	ended := false
	q.Go(func() { <-q.Quit(); ended = true })
	q.Close()
	if !ended {
		t.Fatal("Close returned before a Go goroutine ended")
	}
}
