package mqtt

import (
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Packet identifiers.
//
// The client and the server each number their own packets (MQTT 5 §2.2.1,
// 3.1.1 §2.3.1): a client may send a SUBSCRIBE, UNSUBSCRIBE or QoS 1
// PUBLISH with the identifier of a delivery the server still has in
// flight. mochi keeps both sides' identifiers in one map (the client's
// Inflight), so such a packet would find the server's delivery there: a
// SUBSCRIBE or UNSUBSCRIBE is refused 0x91 (packet identifier in use) and a
// PUBLISH deletes the delivery (never resent to a resumed session, its send
// quota never returned). Clients number from 1 like the server, so this
// happens in practice: a resumed session's replay sends its first message
// as id 1 while the client's first SUBSCRIBE is id 1.
//
// So while mochi handles such a packet, the server's delivery is taken out
// of the map (parked) and put back right after. mu is held from park to
// unpark: every delivery to a client is handed to the broker with mu held
// (or on the client's own reading goroutine, which is busy with the
// packet), so no delivery can be given the parked identifier meanwhile.
//
// A connection whose session is being taken over does not park (closed),
// and the takeover waits for mu (OnSessionEstablish), so the new
// connection inherits a parked delivery; left open is a park begun in the
// few instructions between that wait and mochi closing the old connection.
//
// Not covered: a QoS 2 PUBLISH reusing an in-flight delivery's identifier;
// mochi stores its PUBREC under that identifier until the PUBREL, in place
// of the delivery.

// parkLocked takes the server's delivery with packet id out of cl's
// inflight map, if there is one, and reports whether it did. mu is held and
// stays held until unpark; only cl's reading goroutine parks for cl.
func (h *hook) parkLocked(cl *mochi.Client, id uint16) bool {
	pk, ok := cl.State.Inflight.Get(id)
	if !ok || pk.FixedHeader.Type != packets.Publish || cl.Closed() { // closed: its session may be handed over
		return false // a client-side flow (PUBREC of its QoS 2 PUBLISH): really in use
	}
	cl.State.Inflight.Delete(id)
	h.parked.Store(cl, pk)
	return true
}

// unparkLocked puts back the delivery parkLocked took out of cl's inflight
// map, if any, and reports whether there was one. mu is held.
func (h *hook) unparkLocked(cl *mochi.Client) bool {
	v, ok := h.parked.LoadAndDelete(cl)
	if ok {
		cl.State.Inflight.Set(v.(packets.Packet))
	}
	return ok
}

// parkFor parks the delivery whose identifier the UNSUBSCRIBE or QoS 1
// PUBLISH pk reuses, taking mu for as long as it is parked (until unpark).
// Called from OnPacketRead, before mochi looks the identifier up; only for
// packets mochi will go on to handle (a malformed one ends the connection).
func (h *hook) parkFor(cl *mochi.Client, pk packets.Packet) {
	switch pk.FixedHeader.Type {
	case packets.Unsubscribe:
		if pk.UnsubscribeValidate() != packets.CodeSuccess {
			return
		}
	case packets.Publish:
		if pk.FixedHeader.Qos != 1 || pk.PublishValidate(h.broker.Options.Capabilities.TopicAliasMaximum) != packets.CodeSuccess {
			return
		}
	default:
		return
	}
	if _, ok := cl.State.Inflight.Get(pk.PacketID); !ok {
		return
	}
	h.mu.Lock()
	if !h.parkLocked(cl, pk.PacketID) {
		h.mu.Unlock()
	}
}

// unpark ends parkFor: puts the delivery back and releases mu. Called on
// cl's reading goroutine as soon as mochi has looked the identifier up
// (OnUnsubscribe, OnPublish), and again, in case mochi stopped earlier,
// once the packet is handled (OnPacketProcessed) and when the connection
// ends (OnDisconnect). A parked delivery means this goroutine holds mu.
func (h *hook) unpark(cl *mochi.Client) {
	if _, ok := h.parked.Load(cl); ok && h.unparkLocked(cl) {
		h.mu.Unlock()
	}
}
