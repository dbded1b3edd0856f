package gateway

// ResyncAll closes every connection with the going-away close code, so that
// each client reconnects (to any node) and resyncs from the store. The
// server calls it when its bus connection comes back after an outage:
// events other nodes published meanwhile never reached this node, and a
// client would otherwise not notice the messages it missed at the tail of a
// conversation until the next message there. Safe from any goroutine.
func (g *Gateway) ResyncAll() {
	var all []*Conn
	g.hub.each(func(c *Conn) { all = append(all, c) })
	for _, c := range all {
		c.closeWith(ReasonGoingAway, "event bus reconnected: reconnect and resync")
	}
}
