package parley

import (
	"context"
	"strings"
	"time"
)

// CleanPhone normalizes a phone number to E.164: "+" and 8 to 15 digits,
// the first not 0. Spaces, dashes, dots and parentheses are dropped.
// Errors are CodeInvalid on field phone.
func CleanPhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", Invalid("phone", "phone must be an international number such as +33 6 12 34 56 78")
		}
	}
	p := b.String()
	if len(p) > 40 {
		return "", TooLarge("phone", "phone is too long")
	}
	if !strings.HasPrefix(p, "+") || len(p) < 9 || len(p) > 16 || p[1] == '0' {
		return "", Invalid("phone", "phone must be an international number (+, country code, number: 8 to 15 digits)")
	}
	return p, nil
}

// PhoneStore keeps phone verification codes and verified numbers.
type PhoneStore interface {
	// SetPhoneCode stores a pending code (its hash) for userID's phone,
	// replacing any earlier one. CodeNotFound for an unknown user.
	SetPhoneCode(ctx context.Context, userID, phone, codeHash string, expires time.Time) error
	// CheckPhoneCode compares codeHash with the pending code: on a match the
	// phone becomes userID's verified number and the code is deleted; on a
	// mismatch the attempt is counted, and the code is deleted after
	// maxAttempts. CodeNotFound when there is no live pending code,
	// CodeInvalid (field code) for a wrong code.
	CheckPhoneCode(ctx context.Context, userID, codeHash string, now time.Time, maxAttempts int) (string, error)
	// VerifiedPhone returns userID's verified number ("" if none).
	VerifiedPhone(ctx context.Context, userID string) (string, error)
}
