package gateway

import (
	"sync"
	"testing"
	"time"
)

// TestStacksRunsEverythingAndReuses: do never blocks and runs every
// function, also when every worker is busy; a worker that finished takes
// the next function instead of a new goroutine starting.
func TestStacksRunsEverythingAndReuses(t *testing.T) {
	s := newStacks()
	defer s.stop()
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		s.do(func() { defer wg.Done(); <-release }) // all busy: must not block
	}
	if n := s.started.Load(); n != 50 {
		t.Fatalf("50 blocked functions started %d workers", n)
	}
	close(release)
	wg.Wait()
	time.Sleep(10 * time.Millisecond) // the 50 reach their idle wait
	for range 20 {
		done := make(chan struct{})
		s.do(func() { close(done) })
		<-done
		time.Sleep(time.Millisecond)
	}
	if n := s.started.Load() - 50; n > 10 {
		t.Errorf("20 sequential functions with 50 idle workers started %d more, want (nearly) none", n)
	}
}
