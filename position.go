package parley

import (
	"context"
	"time"
)

// PositionStore keeps where a gateway session (an MQTT client id) stands
// in each conversation it follows: the last seq it was handed and
// acknowledged. A persistent session resumes from there after a restart or
// on another node, so nothing sent meanwhile is lost; anything after a
// position that had not been saved yet is delivered again (at least once).
type PositionStore interface {
	// SavePositions records session's positions (conversation id → seq),
	// owned by userID, keeping the larger of a stored and a given seq, and
	// moves the expiry of every position of the session to expiresAt.
	SavePositions(ctx context.Context, session, userID string, pos map[string]int64, expiresAt time.Time) error
	// Positions returns the positions of session owned by userID that have
	// not expired at now (an empty map if none).
	Positions(ctx context.Context, session, userID string, now time.Time) (map[string]int64, error)
	// DeletePositions forgets session's positions.
	DeletePositions(ctx context.Context, session string) error
	// DeleteExpiredPositions removes the positions expired at now and
	// returns how many.
	DeleteExpiredPositions(ctx context.Context, now time.Time) (int64, error)
}
