package parley

import (
	"context"
	"time"
)

// EmailVerification is whether accounts prove their email address
// (docs/notifications.md, "Email").
type EmailVerification string

const (
	// EmailVerificationOff: addresses are never checked; password reset
	// mails go to the address on the account.
	EmailVerificationOff EmailVerification = "off"
	// EmailVerificationOptional: a link is mailed to every new address;
	// until it is followed the address gets no password reset and no
	// digest, but the account works.
	EmailVerificationOptional EmailVerification = "optional"
	// EmailVerificationRequired: sign-up needs an address, and the account
	// cannot sign in before the link mailed to it is followed.
	EmailVerificationRequired EmailVerification = "required"
)

// Valid reports whether v is one of the policies.
func (v EmailVerification) Valid() bool {
	return v == EmailVerificationOff || v == EmailVerificationOptional || v == EmailVerificationRequired
}

// EmailTokenKind is what an emailed link does.
type EmailTokenKind string

const (
	TokenVerifyEmail   EmailTokenKind = "verify_email"
	TokenResetPassword EmailTokenKind = "reset_password"
)

// EmailToken is a single-use link token; only its SHA-256 hash is stored.
type EmailToken struct {
	Hash      string // hex SHA-256 of the token
	Kind      EmailTokenKind
	UserID    string
	Email     string // the address it was sent to
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EmailStore keeps email link tokens and verified addresses.
type EmailStore interface {
	// CreateEmailToken stores t, replacing any earlier token of the same
	// kind for the same user (only the newest link works). CodeNotFound for
	// an unknown user.
	CreateEmailToken(ctx context.Context, t EmailToken) error
	// ConsumeEmailToken deletes and returns the token of that kind and hash
	// if it has not expired at now: each token works once. CodeNotFound
	// for unknown, used or expired tokens.
	ConsumeEmailToken(ctx context.Context, kind EmailTokenKind, hash string, now time.Time) (EmailToken, error)
	// SetEmailVerified records that userID proved email. CodeNotFound for
	// an unknown user.
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
	// VerifiedEmail returns the address userID last proved ("" if none).
	// The account's address is verified when it equals this one.
	VerifiedEmail(ctx context.Context, userID string) (string, error)
	// UsersByEmail returns the ids of the accounts whose address is email
	// (case-insensitive), at most 10.
	UsersByEmail(ctx context.Context, email string) ([]string, error)
}
