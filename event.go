package parley

import "context"

// EventKind names a real-time event. It is also the "type" of the WebSocket
// frame that carries it; docs/protocol.md lists every kind.
type EventKind string

const (
	EventMessage             EventKind = "message"              // a new message (user or system)
	EventMessageEdited       EventKind = "message_edited"       // Frame carries the updated message
	EventMessageDeleted      EventKind = "message_deleted"      // Frame carries the tombstone
	EventReaction            EventKind = "reaction"             // reactions of one message changed
	EventConversationUpdated EventKind = "conversation_updated" // title, topic, avatar, flags
	EventMemberJoined        EventKind = "member_joined"        // Join lists users to subscribe first
	EventMemberLeft          EventKind = "member_left"          // Leave lists users to unsubscribe after
	EventMemberUpdated       EventKind = "member_updated"       // role change
	EventReceipt             EventKind = "receipt"              // a member's delivered/read seq moved
	EventTyping              EventKind = "typing"               // never stored
	EventPresence            EventKind = "presence"             // a user went online/offline
	EventSessionRevoked      EventKind = "session_revoked"      // close connections of SessionIDs/UserIDs
	EventCall                EventKind = "call"                 // a call rang or changed state (to both participants)
	EventCallSDP             EventKind = "call_sdp"             // a relayed session description (to the peer's device)
	EventCallICE             EventKind = "call_ice"             // a relayed ICE candidate (to the peer's device)
	EventFocus               EventKind = "focus"                // a device's focus changed (for notifiers; never sent to clients)
	EventE2EEDevices         EventKind = "e2ee_devices"         // a user's e2ee device list changed (docs/e2ee.md)
	EventPostingChanged      EventKind = "posting_changed"      // a conversation's posting rules or a member's mute changed (for apps' caches; never sent to clients)
	EventAuthChanged         EventKind = "auth_changed"         // a user's account or sessions changed (for apps' caches; never sent to clients)
)

// Event is what the app publishes on the Bus after a commit and what every
// node's gateway routes to its local connections.
//
// Routing: the event goes to every local connection subscribed to
// ConversationID (if set) and to every connection of each user in UserIDs;
// if SessionIDs is set, only to those of the UserIDs' connections that
// belong to one of those sessions (EventSessionRevoked instead closes the
// connections of UserIDs and of SessionIDs).
// Before delivery, the users in Join are subscribed to ConversationID; after
// delivery, the users in Leave are unsubscribed from it.
//
// Frame is the complete WebSocket text frame payload, JSON-encoded exactly once
// by the publisher; gateways write it to every recipient unchanged.
type Event struct {
	Kind           EventKind `json:"kind"`
	ConversationID string    `json:"conversation_id,omitempty"`
	UserIDs        []string  `json:"user_ids,omitempty"`
	SessionIDs     []string  `json:"session_ids,omitempty"`
	Join           []string  `json:"join,omitempty"`
	Leave          []string  `json:"leave,omitempty"`
	Frame          []byte    `json:"frame,omitempty"`
}

// Bus carries events between the app and every node's gateway. Delivery is
// at-most-once and best-effort: clients recover anything missed from the
// Store by resync, so a Bus never needs to be durable.
type Bus interface {
	// Publish sends e to every subscriber on every node, including this one.
	// Events published by one goroutine are delivered to each subscriber in
	// publish order.
	Publish(ctx context.Context, e Event) error
	// Subscribe registers fn to receive every event. fn is called from one
	// goroutine per subscription and must not block for long.
	Subscribe(fn func(Event)) (unsubscribe func(), err error)
	Close() error
}

// AuthTopic is the routing key of EventAuthChanged about userID ("": every
// user). No connection subscribes to it: only apps read these events, to
// forget the sessions they keep.
func AuthTopic(userID string) string { return "auth:" + userID }
