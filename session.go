package parley

import (
	"context"
	"time"
)

// Session is one signed-in device. The bearer token itself is never stored:
// only TokenHash (SHA-256 of the token), so a leaked database yields no tokens.
type Session struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	TokenHash  []byte    `json:"-"`
	UserAgent  string    `json:"user_agent"`
	Address    string    `json:"address"` // client IP at sign-in
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"` // set by app: the session making the request
}

// SessionStore persists sessions. Missing sessions are CodeNotFound.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns the session whose token hashes to h.
	SessionByTokenHash(ctx context.Context, h []byte) (Session, error)
	// Sessions lists a user's sessions, newest first.
	Sessions(ctx context.Context, userID string) ([]Session, error)
	// TouchSession sets LastSeenAt (and may extend ExpiresAt).
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
	// DeleteSession removes one session of userID; CodeNotFound if it is not theirs.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteUserSessions removes every session of userID except keepID ("" keeps none)
	// and returns the ids removed.
	DeleteUserSessions(ctx context.Context, userID, keepID string) ([]string, error)
}

// Actor is the authenticated caller of a use case: who they are and through
// which session. The zero Actor is anonymous.
type Actor struct {
	UserID    string
	SessionID string
	Role      UserRole
}

// Anonymous reports whether a is the zero Actor.
func (a Actor) Anonymous() bool { return a.UserID == "" }

// Admin reports whether a is a server admin.
func (a Actor) Admin() bool { return a.Role == UserRoleAdmin }
