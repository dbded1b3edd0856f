package app

import (
	"context"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// touchDelay is how long a session's last-seen write waits to be written
// with the others that come meanwhile: after a reconnect storm every
// device's session needs one, and one transaction (one fsync on SQLite)
// for each would queue behind SQLite's single writer.
const touchDelay = 200 * time.Millisecond

// sessionTouches holds the last-seen writes not yet stored. Sign-in adds
// one and goes on without waiting; a single flusher goroutine, started by
// the first addition, writes them all in one TouchSessions call per round
// until none is left. A touch lost to a crash only makes that session's
// sliding expiry start up to touchEvery earlier.
type sessionTouches struct {
	mu       sync.Mutex
	pending  map[string]parley.SessionTouch
	flushing bool
}

// touchSession records that session id was seen at now (expiring at
// expires) and has it written within touchDelay.
func (a *App) touchSession(id string, now, expires time.Time) {
	t := &a.touches
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[string]parley.SessionTouch{}
	}
	t.pending[id] = parley.SessionTouch{ID: id, LastSeen: now, Expires: expires}
	if !t.flushing {
		t.flushing = true
		go func() {
			time.Sleep(touchDelay)
			for failures := 0; ; {
				more, err := a.flushTouches(context.Background(), failures >= maxTouchFailures)
				if !more {
					return
				}
				if err == nil {
					failures = 0
					continue
				}
				failures++
				time.Sleep(touchDelay)
			}
		}()
	}
}

// withPendingTouch returns ss with its unwritten touch, if any, applied:
// what readers of a session see is never older than its last use.
func (a *App) withPendingTouch(ss parley.Session) parley.Session {
	a.touches.mu.Lock()
	defer a.touches.mu.Unlock()
	if t, ok := a.touches.pending[ss.ID]; ok && t.LastSeen.After(ss.LastSeenAt) {
		ss.LastSeenAt, ss.ExpiresAt = t.LastSeen, t.Expires
	}
	return ss
}

// maxTouchFailures is how many failed writes in a row the flusher retries
// before it drops the touches (a closed or failing store).
const maxTouchFailures = 5

// flushTouches writes the pending touches and reports whether the flusher
// should go on (more came meanwhile, or the write failed: then they are
// kept for the next round, unless drop).
func (a *App) flushTouches(ctx context.Context, drop bool) (bool, error) {
	t := &a.touches
	t.mu.Lock()
	batch := make([]parley.SessionTouch, 0, len(t.pending))
	for _, x := range t.pending {
		batch = append(batch, x)
	}
	clear(t.pending)
	t.mu.Unlock()
	err := a.store.TouchSessions(ctx, batch)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if drop {
			a.log.Warn("session last-seen writes dropped", "sessions", len(batch), "err", err)
		} else {
			a.log.Warn("session last-seen writes failed; retrying", "sessions", len(batch), "err", err)
			for _, x := range batch {
				if _, newer := t.pending[x.ID]; !newer {
					t.pending[x.ID] = x
				}
			}
		}
	}
	if len(t.pending) == 0 {
		t.flushing = false
		return false, err
	}
	return true, err
}
