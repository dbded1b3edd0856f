package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/parley-chat/parley"
)

// SMSSender sends one text message (internal/sms).
type SMSSender interface {
	Send(ctx context.Context, to, text string) error
}

// Phone verification limits.
const (
	PhoneCodeTTL       = 10 * time.Minute
	PhoneCodeAttempts  = 5
	phoneCodesPerHour  = 3
	phoneCodeDigits    = 6
	phoneCodeMaxNumber = 1000000
)

// PhoneStatus is the caller's verified number.
type PhoneStatus struct {
	Phone    string `json:"phone"`
	Verified bool   `json:"verified"`
}

// hashPhoneCode binds a code to its user, so equal codes of two users
// differ in the store.
func hashPhoneCode(userID, code string) string {
	h := sha256.Sum256([]byte("parley phone code\x00" + userID + "\x00" + code))
	return hex.EncodeToString(h[:])
}

// SendPhoneCode texts a 6-digit code to phone for actor to prove it.
// Errors: unauthenticated; invalid/too_large (phone); rate_limited (3
// codes an hour per account); unavailable (no SMS sender).
func (a *App) SendPhoneCode(ctx context.Context, actor parley.Actor, phone string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	p, err := parley.CleanPhone(phone)
	if err != nil {
		return err
	}
	if a.sms == nil {
		return parley.Errorf(parley.CodeUnavailable, "this server sends no text messages")
	}
	if ok, wait := a.smsLimit.Allow(actor.UserID); !ok {
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait, Message: "too many codes; wait before asking again"}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(phoneCodeMaxNumber))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%0*d", phoneCodeDigits, n.Int64())
	if err := a.store.SetPhoneCode(ctx, actor.UserID, p, hashPhoneCode(actor.UserID, code), a.now().Add(PhoneCodeTTL)); err != nil {
		return err
	}
	if err := a.sms.Send(ctx, p, fmt.Sprintf("%s code: %s (valid %d minutes)", a.mail.o.SiteName, code, int(PhoneCodeTTL.Minutes()))); err != nil {
		a.log.Warn("SMS not sent", "user_id", actor.UserID, "err", err)
		return parley.Errorf(parley.CodeUnavailable, "the text message could not be sent; try again later")
	}
	return nil
}

// VerifyPhone checks the code texted to actor. Errors: unauthenticated;
// invalid (code: malformed or wrong; after 5 wrong codes the code is
// void); not_found (no live code: ask for one).
func (a *App) VerifyPhone(ctx context.Context, actor parley.Actor, code string) (PhoneStatus, error) {
	if actor.Anonymous() {
		return PhoneStatus{}, unauthenticated("sign in first")
	}
	if len(code) != phoneCodeDigits {
		return PhoneStatus{}, parley.Invalid("code", "the code has %d digits", phoneCodeDigits)
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return PhoneStatus{}, parley.Invalid("code", "the code has %d digits", phoneCodeDigits)
		}
	}
	p, err := a.store.CheckPhoneCode(ctx, actor.UserID, hashPhoneCode(actor.UserID, code), a.now(), PhoneCodeAttempts)
	if parley.IsCode(err, parley.CodeNotFound) {
		return PhoneStatus{}, parley.Errorf(parley.CodeNotFound, "no code is pending (or it expired): ask for a new one")
	}
	if err != nil {
		return PhoneStatus{}, err
	}
	return PhoneStatus{Phone: p, Verified: true}, nil
}

// PhoneStatus returns actor's verified number.
func (a *App) PhoneStatus(ctx context.Context, actor parley.Actor) (PhoneStatus, error) {
	if actor.Anonymous() {
		return PhoneStatus{}, unauthenticated("sign in first")
	}
	p, err := a.store.VerifiedPhone(ctx, actor.UserID)
	return PhoneStatus{Phone: p, Verified: p != ""}, err
}
