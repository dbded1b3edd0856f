package parley

import (
	"context"
	"time"
)

// PresenceStatus is whether a user is online (any device connected on any
// node) and, when offline, when they were last seen. LastSeenAt is nil when
// the user has not been seen since the presence tracker started.
type PresenceStatus struct {
	UserID     string     `json:"user_id"`
	Online     bool       `json:"online"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
}

// Presence tracks which users have live connections. Every gateway calls
// Connect once per authenticated connection and Disconnect once when it ends.
//
// The in-process implementation (internal/presence) counts this node's
// connections; a multi-node implementation keeps per-node counts in shared
// storage (NATS KV, PostgreSQL) with a lease per node, so that a crashed node's
// connections expire. Implementations must be safe for concurrent use.
type Presence interface {
	// Connect records one more connection of userID and reports whether the
	// user came online with it (it was their first).
	Connect(ctx context.Context, userID string) (cameOnline bool, err error)
	// Disconnect records one connection fewer, ending at at, and reports
	// whether the user went offline with it (it was their last).
	Disconnect(ctx context.Context, userID string, at time.Time) (wentOffline bool, err error)
	// Status returns the presence of each of userIDs, in the same order.
	Status(ctx context.Context, userIDs []string) ([]PresenceStatus, error)
}

// PresenceTopic is the routing key of presence events about userID: gateways
// subscribe the connections watching userID to it, and presence events carry
// it as their ConversationID. It never collides with a conversation id.
func PresenceTopic(userID string) string { return "presence:" + userID }
