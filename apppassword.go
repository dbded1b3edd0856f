package parley

import (
	"context"
	"strings"
	"time"
)

// AppPassword is a generated password for one client that cannot do
// two-factor sign-in (an XMPP or MQTT app): it signs in where the account
// password would, on the password-only gateways. Only its SHA-256 is stored.
type AppPassword struct {
	ID         string     `json:"id"`
	UserID     string     `json:"-"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// App password limits.
const (
	AppPasswordNameMaxChars = 64
	AppPasswordsPerUser     = 20
	AppPasswordLetters      = 24 // base32 letters (120 bits), shown in groups of 4
)

// AppPasswordStore persists app passwords. Missing rows are CodeNotFound.
type AppPasswordStore interface {
	// CreateAppPassword inserts p unless its user has AppPasswordsPerUser
	// already (CodeConflict). CodeNotFound if the user does not exist.
	CreateAppPassword(ctx context.Context, p AppPassword) error
	// AppPasswords lists userID's app passwords, newest first.
	AppPasswords(ctx context.Context, userID string) ([]AppPassword, error)
	// UseAppPassword finds userID's app password with hash h and records
	// its use at `at`. CodeNotFound if there is none.
	UseAppPassword(ctx context.Context, userID string, h []byte, at time.Time) (AppPassword, error)
	// DeleteAppPassword removes one of userID's app passwords; CodeNotFound
	// if it is not theirs.
	DeleteAppPassword(ctx context.Context, userID, id string) error
	// DeleteUserAppPasswords removes every app password of userID and
	// returns how many.
	DeleteUserAppPasswords(ctx context.Context, userID string) (int, error)
}

// CleanAppPasswordName trims and checks an app password's name: 1–64
// characters on one line, the rules of display names. Errors name field
// "name".
func CleanAppPasswordName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("name", "name the app password (e.g. the app or device it is for)")
	}
	if err := checkText("name", s, AppPasswordNameMaxChars, false); err != nil {
		return "", err
	}
	return s, nil
}

// AppPasswordForm reports whether s could be an app password (24 letters of
// the base32 alphabet, any case, hyphens and spaces ignored) and returns
// its normalised (upper-case, bare) form.
func AppPasswordForm(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s))
	return s, len(s) == AppPasswordLetters && allIn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
}
