package postgres

// Internal hooks for the presence tests.

// Abandon stops p's heartbeat without cleaning up, as a crash would.
func (p *Presence) Abandon() { p.abandon() }
