package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Mailer sends one plain-text email (internal/mail).
type Mailer interface {
	Send(ctx context.Context, to, subject, text string) error
}

// EmailOptions configure email (docs/notifications.md, "Email").
type EmailOptions struct {
	// Mailer sends; nil: no email at all (Verification must be off, and
	// password reset and digests are unavailable).
	Mailer       Mailer
	Verification parley.EmailVerification // default off
	// PublicURL is the base of the links in emails (https://chat.example.org).
	PublicURL   string
	VerifyTTL   time.Duration // how long a verification link works; default 48h
	ResetTTL    time.Duration // how long a password reset link works; default 30m
	DigestAfter time.Duration // email missed mentions and direct messages after this long; 0: no digests
	SiteName    string        // in subjects; default "Parley"
}

// Per-account and per-address limits on the emails anyone can trigger.
const (
	mailsPerAccountHour = 3
	mailsPerAddrHour    = 10
)

// mailer holds the email configuration and its rate limiters.
type mailer struct {
	o       EmailOptions
	account *Limiter // emails per account
	addr    *Limiter // unauthenticated email requests per client address
}

func newMailer(o EmailOptions, now func() time.Time) *mailer {
	if o.Verification == "" {
		o.Verification = parley.EmailVerificationOff
	}
	orDefault(&o.VerifyTTL, 48*time.Hour)
	orDefault(&o.ResetTTL, 30*time.Minute)
	if o.SiteName == "" {
		o.SiteName = "Parley"
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return &mailer{o: o,
		account: NewLimiter(mailsPerAccountHour/3600.0, mailsPerAccountHour, now),
		addr:    NewLimiter(mailsPerAddrHour/3600.0, mailsPerAddrHour, now)}
}

// SetPublicURL sets the base of the links in emails when the options gave
// none (the server knows its address only once it listens). Call it before
// serving.
func (a *App) SetPublicURL(u string) {
	if a.mail.o.PublicURL == "" {
		a.mail.o.PublicURL = strings.TrimRight(u, "/")
	}
}

// EmailVerification returns the policy in force.
func (a *App) EmailVerification() parley.EmailVerification { return a.mail.o.Verification }

// newLinkToken returns a random URL-safe token and its stored hash.
func newLinkToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashLinkToken(token)
}

func hashLinkToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// linkTokenForm accepts what newLinkToken makes (43 base64url characters).
func linkTokenForm(t string) bool {
	if len(t) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// sendLink mails u a link of kind to path?token=…, replacing any earlier
// link of that kind. Failures are logged, not returned: the request that
// caused it must not reveal whether a mail went out.
func (a *App) sendLink(ctx context.Context, u parley.User, kind parley.EmailTokenKind) {
	if a.mail.o.Mailer == nil || u.Email == "" {
		return
	}
	if ok, _ := a.mail.account.Allow(u.ID); !ok {
		a.log.Info("email link not sent: account limit", "user_id", u.ID, "kind", kind)
		return
	}
	token, hash := newLinkToken()
	now := a.now().UTC().Truncate(time.Millisecond)
	ttl, path, subject, what := a.mail.o.VerifyTTL, "/verify-email", "Confirm your email address",
		"confirm that this is your email address"
	if kind == parley.TokenResetPassword {
		ttl, path, subject, what = a.mail.o.ResetTTL, "/reset-password", "Reset your password", "choose a new password"
	}
	if err := a.store.CreateEmailToken(ctx, parley.EmailToken{Hash: hash, Kind: kind, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		a.log.Warn("email link not stored", "user_id", u.ID, "err", err)
		return
	}
	link := a.mail.o.PublicURL + path + "?token=" + url.QueryEscape(token)
	text := fmt.Sprintf("Hello %s,\n\nto %s on %s, open this link within %s:\n\n%s\n\n"+
		"It works once. If you did not ask for this, ignore this message.\n",
		u.Username, what, a.mail.o.SiteName, ttl, link)
	if err := a.mail.o.Mailer.Send(ctx, u.Email, a.mail.o.SiteName+": "+subject, text); err != nil {
		a.log.Warn("email not sent", "user_id", u.ID, "kind", kind, "err", err)
	}
}

// emailVerified reports whether u's current address is the one it proved.
func (a *App) emailVerified(ctx context.Context, u parley.User) (bool, error) {
	if u.Email == "" {
		return false, nil
	}
	v, err := a.store.VerifiedEmail(ctx, u.ID)
	return err == nil && strings.EqualFold(v, u.Email), err
}

// mustVerifyFirst reports whether u may not sign in yet: the policy is
// required and u's address is unproved. Admins are exempt (the operator
// must always get in), and so are accounts without an address (an admin
// made them: self-registration needs one under this policy).
func (a *App) mustVerifyFirst(ctx context.Context, u parley.User) (bool, error) {
	if a.mail.o.Verification != parley.EmailVerificationRequired || u.Role == parley.UserRoleAdmin || u.Email == "" {
		return false, nil
	}
	ok, err := a.emailVerified(ctx, u)
	return !ok, err
}

// errVerifyFirst is the sign-in refusal of an unproved address.
func errVerifyFirst() error {
	return parley.Errorf(parley.CodeForbidden, "confirm your email address first: follow the link we sent you")
}

// afterEmailSet mails a verification link for u's new address when the
// policy asks for one.
func (a *App) afterEmailSet(ctx context.Context, u parley.User) {
	if a.mail.o.Verification == parley.EmailVerificationOff || u.Email == "" {
		return
	}
	if ok, _ := a.emailVerified(ctx, u); !ok {
		a.sendLink(ctx, u, parley.TokenVerifyEmail)
	}
}

// EmailStatus is the caller's address and whether it is proved.
type EmailStatus struct {
	Email        string                   `json:"email"`
	Verified     bool                     `json:"verified"`
	Verification parley.EmailVerification `json:"verification"`
}

// EmailStatus returns actor's address status.
func (a *App) EmailStatus(ctx context.Context, actor parley.Actor) (EmailStatus, error) {
	if actor.Anonymous() {
		return EmailStatus{}, unauthenticated("sign in first")
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return EmailStatus{}, err
	}
	ok, err := a.emailVerified(ctx, u)
	return EmailStatus{Email: u.Email, Verified: ok, Verification: a.mail.o.Verification}, err
}

// ResendVerification mails actor a new verification link. Errors:
// unauthenticated, unavailable (no email), invalid (email: none set, or
// already verified). At most a few mails per account per hour; beyond that
// the request succeeds and nothing is sent.
func (a *App) ResendVerification(ctx context.Context, actor parley.Actor) error {
	st, err := a.EmailStatus(ctx, actor)
	if err != nil {
		return err
	}
	if a.mail.o.Mailer == nil || a.mail.o.Verification == parley.EmailVerificationOff {
		return parley.Errorf(parley.CodeUnavailable, "email verification is off on this server")
	}
	if st.Email == "" {
		return parley.Invalid("email", "set an email address first")
	}
	if st.Verified {
		return parley.Invalid("email", "this address is verified already")
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return err
	}
	a.sendLink(ctx, u, parley.TokenVerifyEmail)
	return nil
}

// errBadLink is the one answer to an unknown, used or expired link token.
func errBadLink() error {
	return parley.Invalid("token", "this link is invalid, was used already or has expired; ask for a new one")
}

// VerifyEmail follows a verification link. Errors: invalid (token: unknown,
// used, expired, malformed; or the account's address changed since).
func (a *App) VerifyEmail(ctx context.Context, token string) error {
	if !linkTokenForm(token) {
		return errBadLink()
	}
	t, err := a.store.ConsumeEmailToken(ctx, parley.TokenVerifyEmail, hashLinkToken(token), a.now())
	if parley.IsCode(err, parley.CodeNotFound) {
		return errBadLink()
	} else if err != nil {
		return err
	}
	u, err := a.store.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	if !strings.EqualFold(u.Email, t.Email) {
		return parley.Invalid("token", "the account's email address changed since this link was sent")
	}
	a.log.Info("email verified", "user_id", u.ID)
	return a.store.SetEmailVerified(ctx, u.ID, u.Email, a.now().UTC())
}

// EmailRequest is an unauthenticated request for a mailed link: login is a
// username or an email address.
type EmailRequest struct {
	Login   string
	Address string // client address, for the rate limit
}

// RequestPasswordReset mails a reset link to the account named by login
// (username or address) if it has an address that may receive one
// (verified, unless verification is off) and is enabled. The answer is the
// same whether or not such an account exists. Errors: invalid (login
// empty or too long), rate_limited (per client address), unavailable (no
// email configured).
func (a *App) RequestPasswordReset(ctx context.Context, in EmailRequest) error {
	return a.mailRequest(ctx, in, parley.TokenResetPassword)
}

// RequestVerification is RequestPasswordReset for a new verification link
// (for accounts that cannot sign in before verifying).
func (a *App) RequestVerification(ctx context.Context, in EmailRequest) error {
	return a.mailRequest(ctx, in, parley.TokenVerifyEmail)
}

func (a *App) mailRequest(ctx context.Context, in EmailRequest, kind parley.EmailTokenKind) error {
	login := strings.TrimSpace(in.Login)
	if login == "" {
		return parley.Invalid("login", "login (a username or an email address) is required")
	}
	if len(login) > parley.EmailMaxLen {
		return parley.TooLarge("login", "login must be at most %d bytes", parley.EmailMaxLen)
	}
	if a.mail.o.Mailer == nil || kind == parley.TokenVerifyEmail && a.mail.o.Verification == parley.EmailVerificationOff {
		return parley.Errorf(parley.CodeUnavailable, "this server sends no email")
	}
	if ok, wait := a.mail.addr.Allow(in.Address); !ok {
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait, Message: "too many requests from your address"}
	}
	var ids []string
	if strings.Contains(login, "@") {
		var err error
		if ids, err = a.store.UsersByEmail(ctx, login); err != nil {
			return err
		}
	} else if name, err := parley.CanonicalUsername(login); err == nil {
		if u, err := a.store.UserByUsername(ctx, name); err == nil {
			ids = []string{u.ID}
		} else if !parley.IsCode(err, parley.CodeNotFound) {
			return err
		}
	}
	for _, id := range ids {
		u, err := a.store.User(ctx, id)
		if err != nil || u.Disabled || u.Email == "" {
			continue
		}
		verified, err := a.emailVerified(ctx, u)
		if err != nil {
			return err
		}
		switch {
		case kind == parley.TokenVerifyEmail && !verified:
			a.sendLink(ctx, u, kind)
		case kind == parley.TokenResetPassword && (verified || a.mail.o.Verification == parley.EmailVerificationOff):
			a.sendLink(ctx, u, kind)
		}
	}
	return nil
}

// ResetPasswordWithLink sets a new password with a reset link token, ends every
// session of the account, and marks the address verified (the link proved
// it). Errors: invalid (token; password), too_large (password).
func (a *App) ResetPasswordWithLink(ctx context.Context, token, password string) error {
	if !linkTokenForm(token) {
		return errBadLink()
	}
	if err := parley.CheckPassword("password", password); err != nil {
		return err
	}
	t, err := a.store.ConsumeEmailToken(ctx, parley.TokenResetPassword, hashLinkToken(token), a.now())
	if parley.IsCode(err, parley.CodeNotFound) {
		return errBadLink()
	} else if err != nil {
		return err
	}
	u, err := a.store.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	if !strings.EqualFold(u.Email, t.Email) {
		return parley.Invalid("token", "the account's email address changed since this link was sent")
	}
	h, err := a.acct.pw.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, h); err != nil {
		return err
	}
	a.saveScram(ctx, u.ID, h, password)
	ended, err := a.store.DeleteUserSessions(ctx, u.ID, "")
	if err != nil {
		return err
	}
	a.publishRevoked(ctx, nil, ended, "password_changed")
	a.acct.loginUser.Reset(u.Username)
	a.log.Info("password reset by email link", "user_id", u.ID, "sessions_ended", len(ended))
	return a.store.SetEmailVerified(ctx, u.ID, u.Email, a.now().UTC())
}
