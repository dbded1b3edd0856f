package mqtt

import (
	"sync"
	"time"
)

// LoseEvents makes s ignore the next n message events, as if the bus had
// lost them (the Bus is at-most-once).
func LoseEvents(s *Server, n int32) { s.hook.lose.Store(n) }

// Retained returns the broker's retained messages: topic → payload.
func Retained(s *Server) map[string]string {
	out := map[string]string{}
	for _, pk := range s.broker.Topics.Retained.GetAll() {
		out[pk.TopicName] = string(pk.Payload)
	}
	return out
}

// AllowWills switches off the refusal of CONNECTs carrying a will (OnConnect),
// so that tests reach the second guard (OnWill).
func AllowWills(s *Server, on bool) { s.hook.allowWills.Store(on) }

// SetWriteTimeout bounds each socket write of s's connections by d instead
// of writeTimeout.
func SetWriteTimeout(s *Server, d time.Duration) { s.ln.writeTimeout.Store(int64(d)) }

// SetSendBuffer sets the socket send buffer of the connections s accepts
// from now on (a small one fills at once when the peer stops reading).
func SetSendBuffer(s *Server, n int) { s.ln.sendBuffer.Store(int64(n)) }

// HoldTeardown makes the next teardown of a closed connection of client id
// (the id as the client sent it) wait in its unsubscribe, between mochi's
// check for a takeover and its removal of the id from its registry, until
// release is called. entered is closed when it waits.
func HoldTeardown(s *Server, clientID string) (entered <-chan struct{}, release func()) {
	g := &teardownGate{suffix: "/" + clientID, entered: make(chan struct{}), release: make(chan struct{})}
	s.hook.gate.Store(g)
	var once sync.Once
	return g.entered, func() { once.Do(func() { close(g.release) }) }
}

// OpenConns is the number of accepted connections whose goroutine has not
// ended.
func OpenConns(s *Server) int {
	s.ln.mu.Lock()
	defer s.ln.mu.Unlock()
	return len(s.ln.conns)
}
