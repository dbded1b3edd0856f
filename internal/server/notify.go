package server

import (
	"context"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// openNotifier starts the node's notifier (docs/notifications.md): it
// derives notifications from committed messages and delivers them with the
// push senders configured, until Close.
func (s *Server) openNotifier(presence parley.Presence, push app.PushSender) error {
	s.Notifier = app.NewNotifier(s.App, app.NotifierOptions{Push: push, Presence: presence, Metrics: s.Metrics,
		Poll: s.cfg.NotifyPoll})
	unsubscribe, err := s.Bus.Subscribe(s.Notifier.HandleEvent)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Notifier.Run(ctx)
	}()
	s.closers = append(s.closers, func() error {
		unsubscribe()
		cancel()
		<-done
		return nil
	})
	return nil
}
