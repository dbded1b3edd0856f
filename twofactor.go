package parley

import (
	"context"
	"strings"
	"time"
)

// TwoFactor is an account's TOTP second factor (RFC 6238). A row exists from
// enrolment on; Enabled is false until the user confirms it with a code.
// Secret is the raw shared key (it must be readable to check codes, so it is
// stored as it is: treat the database as secret).
type TwoFactor struct {
	UserID   string
	Secret   []byte
	Enabled  bool
	LastStep int64 // the highest time step accepted so far; a code for it or an earlier step is a replay
	// RecoveryLeft is how many unused recovery codes the account has.
	RecoveryLeft int
	CreatedAt    time.Time
}

// LoginChallengeKind says what the second step of a sign-in must do.
type LoginChallengeKind string

const (
	// ChallengeVerify: the account has two-factor sign-in; send a code.
	ChallengeVerify LoginChallengeKind = "verify"
	// ChallengeSetup: the server requires two-factor sign-in and the account
	// has none yet; enrol, then confirm with a code.
	ChallengeSetup LoginChallengeKind = "setup"
)

// LoginChallenge is a half-finished sign-in: the password was right, the
// second factor is still to come. Only the SHA-256 of its token is stored.
type LoginChallenge struct {
	TokenHash []byte
	UserID    string
	Kind      LoginChallengeKind
	Address   string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int
}

// TwoFactorStore persists second factors, recovery codes and sign-in
// challenges. Missing rows are CodeNotFound.
type TwoFactorStore interface {
	// TwoFactor returns userID's second factor (enabled or pending), with the
	// count of recovery codes left. CodeNotFound if there is none.
	TwoFactor(ctx context.Context, userID string) (TwoFactor, error)
	// SetPendingTwoFactor stores a new, not yet enabled secret for userID,
	// replacing a pending one. CodeConflict if two-factor sign-in is already
	// enabled; CodeNotFound if the user does not exist.
	SetPendingTwoFactor(ctx context.Context, userID string, secret []byte, at time.Time) error
	// EnableTwoFactor turns the pending secret on, records step as used,
	// marks the user (User.TwoFactor) and replaces the recovery codes with
	// the given hashes, in one transaction. CodeNotFound if there is no
	// pending secret; CodeConflict if it is enabled already.
	EnableTwoFactor(ctx context.Context, userID string, step int64, recoveryHashes [][]byte) error
	// UseTwoFactorStep records step as used if it is later than every step
	// used before (compare-and-set). CodeConflict if it is not (a replay, or
	// a concurrent use of the same code); CodeNotFound if not enabled.
	UseTwoFactorStep(ctx context.Context, userID string, step int64) error
	// UseRecoveryCode deletes the recovery code with hash h; CodeNotFound if
	// userID has no such unused code. Two concurrent uses: one wins.
	UseRecoveryCode(ctx context.Context, userID string, h []byte) error
	// ReplaceRecoveryCodes replaces every recovery code of userID.
	// CodeNotFound if two-factor sign-in is not enabled.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	// DeleteTwoFactor removes userID's second factor (enabled or pending), its
	// recovery codes and sign-in challenges, and clears User.TwoFactor.
	// CodeNotFound if there was none.
	DeleteTwoFactor(ctx context.Context, userID string) error

	// CreateLoginChallenge inserts c. CodeConflict if its hash is taken,
	// CodeNotFound if the user does not exist.
	CreateLoginChallenge(ctx context.Context, c LoginChallenge) error
	// LoginChallenge returns the challenge with token hash h, expired or not.
	LoginChallenge(ctx context.Context, h []byte) (LoginChallenge, error)
	// FailLoginChallenge counts one wrong code against the challenge and
	// returns its failures so far.
	FailLoginChallenge(ctx context.Context, h []byte) (int, error)
	// DeleteLoginChallenge consumes the challenge; CodeNotFound if it was
	// already consumed (so one challenge yields at most one session).
	DeleteLoginChallenge(ctx context.Context, h []byte) error
	// DeleteExpiredLoginChallenges removes challenges that expired before
	// `before` and returns how many.
	DeleteExpiredLoginChallenges(ctx context.Context, before time.Time) (int, error)
}

// Two-factor input forms.
const (
	TOTPDigits          = 6  // digits of a TOTP code
	RecoveryCodeCount   = 10 // recovery codes issued at a time
	RecoveryCodeLetters = 16 // base32 letters in a recovery code (80 bits), shown in groups of 4
	TwoFactorCodeMaxLen = 64 // bytes: anything longer is refused before it is looked at
)

// TwoFactorCode classifies a code a user typed: a TOTP code (6 digits, spaces
// allowed) or a recovery code (16 letters of the RFC 4648 base32 alphabet,
// case-insensitive, hyphens and spaces ignored). It returns the normalised
// form and whether it is a recovery code, or a CodeInvalid/CodeTooLarge error
// naming field.
func TwoFactorCode(field, code string) (norm string, recovery bool, err error) {
	if code == "" {
		return "", false, Invalid(field, "%s is required", field)
	}
	if len(code) > TwoFactorCodeMaxLen {
		return "", false, TooLarge(field, "%s must be at most %d bytes", field, TwoFactorCodeMaxLen)
	}
	s := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(s) == TOTPDigits && allIn(s, "0123456789") {
		return s, false, nil
	}
	s = strings.ToUpper(s)
	if len(s) == RecoveryCodeLetters && allIn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") {
		return s, true, nil
	}
	return "", false, Invalid(field, "%s must be a %d-digit code from your authenticator app or a recovery code", field, TOTPDigits)
}

func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}
