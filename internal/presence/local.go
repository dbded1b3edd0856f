// Package presence holds the in-process parley.Presence of a single node
// (the multi-node one lives in internal/postgres).
package presence

import (
	"context"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

var _ parley.Presence = (*Local)(nil)

// Local is the in-process parley.Presence of a single node.
type Local struct {
	mu    sync.Mutex
	count map[string]int
	last  map[string]time.Time
}

// NewLocal returns an empty in-process Presence.
func NewLocal() *Local {
	return &Local{count: map[string]int{}, last: map[string]time.Time{}}
}

// Connect implements Presence.
func (p *Local) Connect(_ context.Context, userID string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count[userID]++
	return p.count[userID] == 1, nil
}

// Disconnect implements Presence. A Disconnect without a matching Connect
// is ignored.
func (p *Local) Disconnect(_ context.Context, userID string, at time.Time) (bool, error) {
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
func (p *Local) Status(_ context.Context, userIDs []string) ([]parley.PresenceStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]parley.PresenceStatus, len(userIDs))
	for i, id := range userIDs {
		out[i] = parley.PresenceStatus{UserID: id, Online: p.count[id] > 0}
		if t, ok := p.last[id]; ok && !out[i].Online {
			out[i].LastSeenAt = &t
		}
	}
	return out, nil
}
