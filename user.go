package parley

import (
	"context"
	"time"
)

// UserRole is a user's server-wide role.
type UserRole string

const (
	UserRoleUser  UserRole = "user"
	UserRoleAdmin UserRole = "admin"
)

// User is an account. Its JSON form is what the REST API and WebSocket frames
// carry; Email is only filled in for the user themselves and for admins.
type User struct {
	ID          string       `json:"id"`
	Username    string       `json:"username"` // canonical (lower-case) form; unique
	DisplayName string       `json:"display_name"`
	Email       string       `json:"email,omitempty"`
	StatusText  string       `json:"status_text"`
	Role        UserRole     `json:"role"`
	Disabled    bool         `json:"disabled"`
	Settings    UserSettings `json:"settings"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// UserSettings are a user's client preferences, stored server-side so every
// device shares them.
type UserSettings struct {
	Theme string `json:"theme"` // "system" (default), "light" or "dark"
}

// UserStore persists accounts. Implementations return *Error with
// CodeNotFound for a missing user and CodeConflict for a duplicate username.
type UserStore interface {
	// CreateUser inserts u (ID, Username already canonical) with its password hash.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	User(ctx context.Context, id string) (User, error)
	// UserByUsername looks up by canonical username.
	UserByUsername(ctx context.Context, username string) (User, error)
	// Users returns the users with the given ids that exist, in no particular order.
	Users(ctx context.Context, ids []string) ([]User, error)
	// PasswordHash returns the stored hash for the user id.
	PasswordHash(ctx context.Context, userID string) (string, error)
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// UpdateUser replaces the mutable profile fields (DisplayName, Email,
	// StatusText, Settings, Role, Disabled, UpdatedAt) of u.ID.
	UpdateUser(ctx context.Context, u User) error
	// SearchUsers returns up to limit enabled users whose canonical username
	// starts with prefix, ordered by username, after the username `after`.
	SearchUsers(ctx context.Context, prefix, after string, limit int) ([]User, error)
	// CountAdmins returns the number of enabled admin accounts.
	CountAdmins(ctx context.Context) (int, error)
}
