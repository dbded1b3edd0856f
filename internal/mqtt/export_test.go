package mqtt

// LoseEvents makes s ignore the next n message events, as if the bus had
// lost them (the Bus is at-most-once).
func LoseEvents(s *Server, n int32) { s.hook.lose.Store(n) }
