package server

import (
	"context"
)

// startWebhooks subscribes the app to the bus (App.HandleEvent: its caches'
// invalidations, and outgoing webhooks) and runs outgoing webhooks
// (docs/bots.md) on this node: bus events become queued deliveries, and a worker delivers what is due (every
// node runs one; the store's leases keep them from sending twice).
func (s *Server) startWebhooks() error {
	unsubscribe, err := s.Bus.Subscribe(s.App.HandleEvent)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.App.RunWebhooks(ctx) }()
	s.closers = append(s.closers, func() error { unsubscribe(); cancel(); <-done; return nil })
	return nil
}
