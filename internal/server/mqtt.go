package server

import (
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/mqtt"
)

// openMQTT starts the MQTT gateway when --mqtt is set: it receives the bus's
// events like the WebSocket gateway and is closed before it.
func (s *Server) openMQTT(rt *app.Realtime) error {
	if s.cfg.MQTT == "" {
		return nil
	}
	m, err := mqtt.New(rt, s.log, mqtt.Config{Addr: s.cfg.MQTT, MaxMessageChars: s.cfg.MaxMessage,
		PacketsPerSec: s.cfg.WSFrameRate})
	if err != nil {
		return err
	}
	unsubscribe, err := s.Bus.Subscribe(m.HandleEvent)
	if err != nil {
		_ = m.Close()
		return err
	}
	s.MQTT = m
	s.closers = append(s.closers, m.Close, func() error { unsubscribe(); return nil })
	return nil
}
