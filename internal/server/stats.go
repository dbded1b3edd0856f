package server

import "context"

// startStats runs the analytics counter flush (app.RunStats) until Close,
// which waits for its last flush before the store closes.
func (s *Server) startStats() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.App.RunStats(ctx)
	}()
	s.closers = append(s.closers, func() error {
		cancel()
		<-done
		return nil
	})
}
