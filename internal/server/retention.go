package server

import (
	"context"
	"time"
)

// startRetention applies retention policies (docs/data.md) every
// cfg.RetentionEvery (default hourly) until Close. Every node runs it; the
// deletes are idempotent, so nodes overlapping cost only a query.
func (s *Server) startRetention() {
	every := s.cfg.RetentionEvery
	if every <= 0 {
		every = time.Hour
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), every)
				if _, err := s.App.ApplyRetention(ctx, time.Now()); err != nil {
					s.log.Warn("retention failed", "err", err)
				}
				cancel()
			}
		}
	}()
	s.closers = append(s.closers, func() error { close(stop); <-done; return nil })
}
