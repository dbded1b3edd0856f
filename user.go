package parley

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// UserRole is a user's server-wide role.
type UserRole string

const (
	UserRoleUser  UserRole = "user"
	UserRoleAdmin UserRole = "admin"
)

// Valid reports whether r is a defined role.
func (r UserRole) Valid() bool { return r == UserRoleUser || r == UserRoleAdmin }

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
	// TwoFactor: two-factor sign-in is on. Not in the JSON form (it would
	// tell everyone which accounts lack it): GET /api/v1/me/2fa shows it to
	// the user, the admin API to admins.
	TwoFactor bool `json:"-"`
	// BotOwner is the id of the user who owns this bot account; "" for a
	// person. Bots have no password and act through API tokens (bot.go).
	BotOwner string `json:"bot_owner,omitempty"`
	// Org is the id of the user's organisation (organisation.go), set at
	// creation and never changed.
	Org string `json:"org_id"`
}

// Bot reports whether u is a bot account.
func (u User) Bot() bool { return u.BotOwner != "" }

// UserSettings are a user's client preferences, stored server-side so every
// device shares them.
type UserSettings struct {
	Theme string `json:"theme"` // "system" (default), "light" or "dark"
}

// Themes a user may choose.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// DefaultUserSettings are the settings of a new account.
func DefaultUserSettings() UserSettings { return UserSettings{Theme: ThemeSystem} }

// Validate checks every setting; the error names the field ("settings.theme").
func (s UserSettings) Validate() error {
	switch s.Theme {
	case ThemeSystem, ThemeLight, ThemeDark:
		return nil
	}
	return Invalid("settings.theme", "theme must be one of system, light, dark")
}

// Account input limits. Lengths of free text are counted in characters
// (runes); usernames and passwords in bytes.
const (
	UsernameMinLen      = 3   // bytes (usernames are ASCII)
	UsernameMaxLen      = 32  // bytes
	DisplayNameMaxChars = 64  // characters
	StatusTextMaxChars  = 140 // characters
	EmailMaxLen         = 254 // bytes (RFC 5321 path limit)
	PasswordMinLen      = 8   // bytes
	PasswordMaxLen      = 256 // bytes: bounds the work of hashing
)

// CanonicalUsername returns the canonical form of a username, or a
// CodeInvalid/CodeTooLarge error naming field "username".
//
// A username is 3–32 characters from [a-z0-9_.-], starting and ending with a
// letter or digit. Upper-case ASCII letters are accepted and folded to lower
// case, so uniqueness is case-insensitive ("Alice" and "alice" are the same
// account). Every other character, in particular all non-ASCII, is refused:
// this rules out Unicode look-alikes ("аlice" with a Cyrillic а, full-width
// letters, zero-width joiners) impersonating another user.
func CanonicalUsername(s string) (string, error) {
	const field = "username"
	if s == "" {
		return "", Invalid(field, "username is required")
	}
	if len(s) > UsernameMaxLen {
		return "", TooLarge(field, "username must be at most %d characters", UsernameMaxLen)
	}
	if len(s) < UsernameMinLen {
		return "", Invalid(field, "username must be at least %d characters", UsernameMinLen)
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '_' || c == '.' || c == '-':
			if i == 0 || i == len(b)-1 {
				return "", Invalid(field, "username must start and end with a letter or digit")
			}
		default:
			return "", Invalid(field, "username may contain only letters a-z, digits, '_', '.' and '-'")
		}
	}
	return string(b), nil
}

// UsernamePrefix canonicalizes a username search prefix: an optional leading
// '@' is dropped, letters are lower-cased, and only username characters are
// allowed. The empty prefix matches everyone. Errors name field "prefix".
func UsernamePrefix(s string) (string, error) {
	s = strings.TrimPrefix(s, "@")
	if len(s) > UsernameMaxLen {
		return "", Invalid("prefix", "prefix must be at most %d characters", UsernameMaxLen)
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		default:
			return "", Invalid("prefix", "prefix may contain only username characters (a-z, 0-9, '_', '.', '-')")
		}
	}
	return string(b), nil
}

// CleanDisplayName trims surrounding white space and checks a display name:
// 1–64 characters of valid UTF-8 with no control or bidirectional-override
// characters. Errors name field "display_name".
func CleanDisplayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("display_name", "display name must not be empty")
	}
	if err := checkText("display_name", s, DisplayNameMaxChars, false); err != nil {
		return "", err
	}
	return s, nil
}

// CleanStatusText trims surrounding white space and checks a status text: up
// to 140 characters, same character rules as display names (one line).
// Errors name field "status_text".
func CleanStatusText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText("status_text", s, StatusTextMaxChars, false); err != nil {
		return "", err
	}
	return s, nil
}

// CleanEmail trims and checks an email address: empty (none), or at most 254
// bytes of the form local@domain with no white space or control characters.
// Parley does not verify ownership of the address. Errors name field "email".
func CleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > EmailMaxLen {
		return "", TooLarge("email", "email must be at most %d bytes", EmailMaxLen)
	}
	if !utf8.ValidString(s) {
		return "", Invalid("email", "email must be valid UTF-8")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return "", Invalid("email", "email must look like name@example.org")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || isBidiControl(r) || r == '<' || r == '>' {
			return "", Invalid("email", "email must not contain spaces, control characters or angle brackets")
		}
	}
	return s, nil
}

// CheckPassword checks a new password's length: 8–256 bytes. Any characters
// are allowed. Errors name field.
func CheckPassword(field, p string) error {
	if len(p) > PasswordMaxLen {
		return TooLarge(field, "password must be at most %d bytes", PasswordMaxLen)
	}
	if len(p) < PasswordMinLen {
		return Invalid(field, "password must be at least %d characters", PasswordMinLen)
	}
	return nil
}

// checkText checks user-visible text: valid UTF-8, at most maxChars runes, no
// control characters (newlines only if multiline), no bidirectional controls
// that could reorder surrounding text, no U+FFFD from a broken encoding.
func checkText(field, s string, maxChars int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return TooLarge(field, "%s must be at most %d characters (got %d)", field, maxChars, n)
	}
	for _, r := range s {
		if r == '\n' && multiline {
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			return Invalid(field, "%s must not contain control characters (found %U)", field, r)
		}
	}
	return nil
}

// isBidiControl reports the explicit bidirectional formatting characters
// (embeddings, overrides, isolates) used to disguise text.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// UserStore persists accounts. Implementations return *Error with
// CodeNotFound for a missing user and CodeConflict for a duplicate username.
// Stores do not validate: the app passes canonical, checked values.
type UserStore interface {
	// CreateUser inserts u (ID, Username already canonical) with its password
	// hash. CodeConflict if the id or username is taken.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	// User returns the user with id; CodeNotFound if none.
	User(ctx context.Context, id string) (User, error)
	// UserByUsername looks up by canonical username; CodeNotFound if none.
	UserByUsername(ctx context.Context, username string) (User, error)
	// Users returns the users with the given ids that exist, in no particular
	// order, each once. Any number of ids may be passed.
	Users(ctx context.Context, ids []string) ([]User, error)
	// PasswordHash returns the stored hash for the user id; CodeNotFound if none.
	PasswordHash(ctx context.Context, userID string) (string, error)
	// SetPasswordHash replaces the hash and clears the SCRAM verifier (ScramStore);
	// CodeNotFound if the user does not exist.
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// UpdateUser replaces the mutable profile fields (DisplayName, Email,
	// StatusText, Settings, Role, Disabled, UpdatedAt) of u.ID; CodeNotFound if
	// the user does not exist. Username and CreatedAt never change.
	UpdateUser(ctx context.Context, u User) error
	// SearchUsers returns up to limit enabled users of organisation org
	// whose canonical username starts with prefix ("" matches all) and sorts
	// after `after` ("" for the first page), ordered by username (bytewise).
	SearchUsers(ctx context.Context, org, prefix, after string, limit int) ([]User, error)
	// CountAdmins returns the number of enabled admin accounts of the
	// default organisation: the server admins (organisation.go).
	CountAdmins(ctx context.Context) (int, error)
}
