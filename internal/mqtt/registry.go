package mqtt

import mochi "github.com/mochi-mqtt/server/v2"

// mochi keeps its clients in a registry by client id, and a publish reaches
// only a registered subscriber. When a clean session's connection ends,
// mochi checks whether a new connection took the id over and, if not,
// deletes the id from the registry; the two steps are not atomic. A new
// connection registered between them (a client reconnecting while its old
// connection is torn down) was deleted with the old one's id: it stayed
// connected and subscribed and received nothing.
//
// The hook repairs that: established records each id's newest connection
// (after mochi registered it) and puts it back if it is missing;
// connectionEnded (after mochi is done with a connection) does the same for
// the id of the connection that ended. Whichever of the two runs after the
// deletion sees it. regMu serializes them, so a connection that ended is
// never put back after its own end was handled.

// established is called (OnSessionEstablished) once mochi has registered cl.
func (h *hook) established(cl *mochi.Client) {
	if gc := gated(cl); gc != nil {
		gc.client.Store(cl)
	}
	h.regMu.Lock()
	defer h.regMu.Unlock()
	h.live.Store(cl.ID, cl)
	h.reregisterLocked(cl.ID)
}

// connectionEnded is called when mochi's goroutine for cl has returned.
func (h *hook) connectionEnded(cl *mochi.Client) {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	h.live.CompareAndDelete(cl.ID, cl)
	if cur, ok := h.broker.Clients.Get(cl.ID); ok && cur == cl && cleanSession(cl) && !cl.IsTakenOver() {
		h.broker.Clients.Delete(cl.ID) // put back by reregisterLocked just before it ended
	}
	h.reregisterLocked(cl.ID)
}

// reregisterLocked puts the live connection of id back into mochi's registry
// if the id is missing there. regMu is held.
func (h *hook) reregisterLocked(id string) {
	v, ok := h.live.Load(id)
	if !ok {
		return
	}
	cl := v.(*mochi.Client)
	if cl.Closed() {
		return
	}
	if _, ok := h.broker.Clients.Get(id); !ok {
		h.broker.Clients.Add(cl)
		h.log.Debug("mqtt client put back into the broker's registry", "client", id)
	}
}

// cleanSession reports whether mochi ends cl's session with its connection
// (as mochi decides when the connection ends).
func cleanSession(cl *mochi.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval == 0
	}
	return cl.Properties.Clean
}
