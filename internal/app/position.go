package app

import (
	"context"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Gateway session positions (parley.PositionStore): where a persistent
// MQTT session stands in each conversation, so it resumes without loss
// after a restart or on another node. A session name starts with its
// owner's user id and a slash ("<user id>/<client id>"): nobody reads or
// moves another user's positions.

func checkSession(actor parley.Actor, session string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if !strings.HasPrefix(session, actor.UserID+"/") || len(session) > 512 {
		return parley.Invalid("session", "a session name is the user id, a slash and a client id (at most 512 bytes)")
	}
	return nil
}

// SavePositions records actor's session positions (conversation id → the
// last seq the session was handed and acknowledged), kept for ttl from now.
// Errors: unauthenticated; invalid (session); the store's.
func (a *App) SavePositions(ctx context.Context, actor parley.Actor, session string, pos map[string]int64, ttl time.Duration) error {
	if err := checkSession(actor, session); err != nil {
		return err
	}
	return a.store.SavePositions(ctx, session, actor.UserID, pos, a.now().Add(ttl))
}

// Positions returns actor's unexpired session positions (empty if none).
func (a *App) Positions(ctx context.Context, actor parley.Actor, session string) (map[string]int64, error) {
	if err := checkSession(actor, session); err != nil {
		return nil, err
	}
	return a.store.Positions(ctx, session, actor.UserID, a.now())
}

// ForgetPositions drops actor's session positions (a clean start).
func (a *App) ForgetPositions(ctx context.Context, actor parley.Actor, session string) error {
	if err := checkSession(actor, session); err != nil {
		return err
	}
	return a.store.DeletePositions(ctx, session)
}

// SweepPositions deletes expired positions and returns how many.
func (a *App) SweepPositions(ctx context.Context) (int64, error) {
	return a.store.DeleteExpiredPositions(ctx, a.now())
}
