package parley

import (
	"context"
	"sync"
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
// The in-process implementation (NewLocalPresence) counts this node's
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

var _ Presence = (*LocalPresence)(nil)

// LocalPresence is the in-process Presence of a single node.
type LocalPresence struct {
	mu    sync.Mutex
	count map[string]int
	last  map[string]time.Time
}

// NewLocalPresence returns an empty in-process Presence.
func NewLocalPresence() *LocalPresence {
	return &LocalPresence{count: map[string]int{}, last: map[string]time.Time{}}
}

// Connect implements Presence.
func (p *LocalPresence) Connect(_ context.Context, userID string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count[userID]++
	return p.count[userID] == 1, nil
}

// Disconnect implements Presence. A Disconnect without a matching Connect
// is ignored.
func (p *LocalPresence) Disconnect(_ context.Context, userID string, at time.Time) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.count[userID]
	if !ok {
		return false, nil
	}
	p.last[userID] = at.UTC()
	if n <= 1 {
		delete(p.count, userID)
		return true, nil
	}
	p.count[userID] = n - 1
	return false, nil
}

// Status implements Presence.
func (p *LocalPresence) Status(_ context.Context, userIDs []string) ([]PresenceStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]PresenceStatus, len(userIDs))
	for i, id := range userIDs {
		out[i] = PresenceStatus{UserID: id, Online: p.count[id] > 0}
		if t, ok := p.last[id]; ok && !out[i].Online {
			out[i].LastSeenAt = &t
		}
	}
	return out, nil
}
