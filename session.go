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
	// CreateSession inserts s. CodeConflict if the id or token hash is taken;
	// CodeNotFound if s.UserID does not exist.
	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns the session whose token hashes to h, expired
	// or not (the app checks ExpiresAt).
	SessionByTokenHash(ctx context.Context, h []byte) (Session, error)
	// SessionUserByTokenHash is SessionByTokenHash and the session's user,
	// read together: what every authenticated request and socket needs.
	SessionUserByTokenHash(ctx context.Context, h []byte) (Session, User, error)
	// Sessions lists a user's sessions, expired ones included, newest first.
	Sessions(ctx context.Context, userID string) ([]Session, error)
	// TouchSessions sets LastSeenAt and ExpiresAt of each session, in one
	// transaction; ids that no longer exist are skipped.
	TouchSessions(ctx context.Context, touches []SessionTouch) error
	// DeleteSession removes one session of userID; CodeNotFound if it is not theirs.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteUserSessions removes every session of userID except keepID ("" keeps none)
	// and returns the ids removed.
	DeleteUserSessions(ctx context.Context, userID, keepID string) ([]string, error)
	// DeleteExpiredSessions removes every session whose ExpiresAt is before
	// `before` and returns how many it removed.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error)
}

// Actor is the authenticated caller of a use case: who they are and through
// which session. The zero Actor is anonymous.
//
// The operator (the `parley admin` command line) acts as an Actor with Role
// UserRoleAdmin and no UserID; admin use cases check only the role.
type Actor struct {
	UserID    string
	SessionID string
	Role      UserRole
	// Scopes limit an API token (bot.go); nil for a session, which may do
	// everything its user may.
	Scopes []Scope
	// Org is the caller's organisation ("" is the default one).
	Org string
}

// Anonymous reports whether a is the zero Actor.
func (a Actor) Anonymous() bool { return a.UserID == "" }

// Admin reports whether a is a server admin (an operator): the command line,
// or an admin of the default organisation. An admin of another organisation
// is not (see OrgAdmin): every use case gated on Admin is closed to them
// unless it says otherwise.
func (a Actor) Admin() bool { return a.Role == UserRoleAdmin && OrgID(a.Org) == DefaultOrgID }

// OrgAdmin reports whether a administers its organisation (server admins
// included, for theirs).
func (a Actor) OrgAdmin() bool { return a.Role == UserRoleAdmin }

// Manages reports whether a may administer the accounts, invites and
// settings of organisation org: server admins manage every organisation,
// organisation admins their own.
func (a Actor) Manages(org string) bool { return a.Admin() || a.OrgAdmin() && SameOrg(a.Org, org) }

// SessionTouch is a session's new LastSeenAt and ExpiresAt (SessionStore.TouchSessions).
type SessionTouch struct {
	ID       string
	LastSeen time.Time
	Expires  time.Time
}
