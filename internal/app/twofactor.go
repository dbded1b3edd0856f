package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Two-factor sign-in: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps — what
// every authenticator app reads from an otpauth:// URI) with single-use
// recovery codes. docs/twofactor.md describes the flows.
//
// Codes are computed by github.com/pquerna/otp (hotp.ValidateCustom for one
// counter); this file picks the counters (the step now, one before and one
// after, for clock drift) so that it knows WHICH step matched: the store
// accepts each step once and only steps later than the last one used, which
// is what refuses a replayed code.
const (
	totpPeriod      = 30 * time.Second
	totpSkew        = 1 // steps accepted either side of now
	totpSecretBytes = 20
	// challengeTTL bounds the second step of a sign-in; setup gets longer
	// (scanning a QR code and typing a first code takes a while).
	verifyChallengeTTL = 5 * time.Minute
	setupChallengeTTL  = 15 * time.Minute
	// maxChallengeFailures wrong codes end a challenge: sign in again.
	maxChallengeFailures = 5
	qrPixels             = 256
)

// TwoFactorOptions configure two-factor sign-in.
type TwoFactorOptions struct {
	// Required: every account must have two-factor sign-in. Accounts without
	// it are made to enrol at sign-in, and their existing sessions stop
	// working. The operator (command line) is not affected.
	Required bool
	// Issuer is the name authenticator apps show (default "Parley").
	Issuer string
}

type twoFactor struct {
	required bool
	issuer   string
}

func newTwoFactor(o TwoFactorOptions) *twoFactor {
	tf := &twoFactor{required: o.Required, issuer: o.Issuer}
	if tf.issuer == "" {
		tf.issuer = "Parley"
	}
	return tf
}

// TwoFactorRequired reports whether the server requires two-factor sign-in.
func (a *App) TwoFactorRequired() bool { return a.tf.required }

// Challenge is the answer to a correct password when a second step is due:
// Kind verify (send a code) or setup (enrol first). Token goes back with it.
type Challenge struct {
	Kind      parley.LoginChallengeKind `json:"two_factor"`
	Token     string                    `json:"challenge"`
	ExpiresAt time.Time                 `json:"expires_at"`
}

// SignInResult is a finished sign-in (User and Token) or, for an account
// that needs a second factor, a Challenge (and no Token).
type SignInResult struct {
	User      parley.User
	Token     string
	Challenge *Challenge
}

// Enrolment is a new TOTP secret to put into an authenticator app: the
// secret (base32, for typing), the otpauth:// URI and that URI as a QR code
// (a PNG data: URL).
type Enrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QR     string `json:"qr"`
}

// TwoFactorStatus is what GET /api/v1/me/2fa shows.
type TwoFactorStatus struct {
	Enabled           bool `json:"enabled"`
	Pending           bool `json:"pending"` // enrolment begun, not confirmed
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Required          bool `json:"required"` // the server requires it
}

// SecondFactorInput is the second step of a sign-in.
type SecondFactorInput struct {
	Challenge string
	Code      string // a TOTP code, or for verify challenges a recovery code
	UserAgent string
	Address   string
}

// startSession ends a password-verified sign-in: a session, or a challenge
// when the account has (or the server requires) a second factor.
func (a *App) startSession(ctx context.Context, u parley.User, userAgent, address string) (SignInResult, error) {
	kind := parley.LoginChallengeKind("")
	switch {
	case u.TwoFactor:
		kind = parley.ChallengeVerify
	case a.twoFactorRequired(ctx, u):
		kind = parley.ChallengeSetup
	}
	if kind == "" {
		_, tok, err := a.createSession(ctx, u.ID, userAgent, address)
		if err != nil {
			return SignInResult{}, err
		}
		return SignInResult{User: u, Token: tok}, nil
	}
	a.pruneSessions(ctx)
	tok, h := newToken()
	now := a.now().UTC().Truncate(time.Millisecond)
	ttl := verifyChallengeTTL
	if kind == parley.ChallengeSetup {
		ttl = setupChallengeTTL
	}
	c := parley.LoginChallenge{TokenHash: h, UserID: u.ID, Kind: kind, Address: clientText(address, maxAddressLen),
		UserAgent: clientText(userAgent, maxUserAgentLen), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.store.CreateLoginChallenge(ctx, c); err != nil {
		return SignInResult{}, err
	}
	return SignInResult{User: u, Challenge: &Challenge{Kind: kind, Token: tok, ExpiresAt: c.ExpiresAt}}, nil
}

func errSecondFactorNeeded() error {
	return unauthenticated("this account uses two-factor sign-in: sign in on the web or with the REST API " +
		"(POST /api/v1/auth/login, then /api/v1/auth/login/2fa), or use a session token or an app password")
}

func errChallenge() error {
	return &parley.Error{Code: parley.CodeUnauthenticated, Field: "challenge",
		Message: "the sign-in challenge is invalid or has expired; sign in again"}
}

func errWrongCode() error {
	return &parley.Error{Code: parley.CodeUnauthenticated, Field: "code", Message: "wrong code"}
}

// challenge loads a live challenge by its token; errChallenge otherwise.
func (a *App) challenge(ctx context.Context, token string) (parley.LoginChallenge, parley.User, error) {
	if token == "" {
		return parley.LoginChallenge{}, parley.User{}, parley.Invalid("challenge", "challenge is required")
	}
	if !tokenForm(token) {
		return parley.LoginChallenge{}, parley.User{}, errChallenge()
	}
	c, err := a.store.LoginChallenge(ctx, hashToken(token))
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.LoginChallenge{}, parley.User{}, errChallenge()
	} else if err != nil {
		return parley.LoginChallenge{}, parley.User{}, err
	}
	if !a.now().Before(c.ExpiresAt) {
		_ = a.store.DeleteLoginChallenge(ctx, c.TokenHash)
		return parley.LoginChallenge{}, parley.User{}, errChallenge()
	}
	u, err := a.store.User(ctx, c.UserID)
	if err != nil {
		return parley.LoginChallenge{}, parley.User{}, err
	}
	if u.Disabled {
		return parley.LoginChallenge{}, parley.User{}, parley.Errorf(parley.CodeForbidden, "this account is disabled")
	}
	return c, u, nil
}

// BeginSetupSignIn starts enrolment for a setup challenge (a server that
// requires two-factor sign-in, an account without it): a new secret each
// call, replacing the one before. Errors: CodeInvalid (field challenge)
// when missing, CodeUnauthenticated (field challenge) when invalid, expired
// or not a setup challenge.
func (a *App) BeginSetupSignIn(ctx context.Context, challenge string) (Enrolment, error) {
	c, u, err := a.challenge(ctx, challenge)
	if err != nil {
		return Enrolment{}, err
	}
	if c.Kind != parley.ChallengeSetup {
		return Enrolment{}, errChallenge()
	}
	return a.enrol(ctx, u)
}

// FinishSignIn is the second step of a sign-in: the code for a challenge.
// A verify challenge takes a TOTP code or a recovery code; a setup challenge
// takes the first TOTP code of the secret from BeginSetupSignIn, turns
// two-factor sign-in on and returns the new recovery codes.
//
// Errors: CodeInvalid (fields challenge, code) for missing or malformed
// input; CodeUnauthenticated with field challenge for an unknown, spent or
// expired challenge, with field code for a wrong or replayed code (each
// counts as a failed sign-in; after 5 the challenge ends); CodeRateLimited
// beyond the sign-in limits; CodeForbidden for a disabled account.
func (a *App) FinishSignIn(ctx context.Context, in SecondFactorInput) (SignInResult, []string, error) {
	code, recovery, err := parley.TwoFactorCode("code", in.Code)
	if err != nil {
		return SignInResult{}, nil, err
	}
	c, u, err := a.challenge(ctx, in.Challenge)
	if err != nil {
		return SignInResult{}, nil, err
	}
	refund, err := a.reserveAttempt(u.Username, in.Address)
	if err != nil {
		return SignInResult{}, nil, err
	}
	var codes []string
	switch c.Kind {
	case parley.ChallengeVerify:
		err = a.checkCode(ctx, u.ID, code, recovery)
	case parley.ChallengeSetup:
		codes, err = a.confirm(ctx, u.ID, code, recovery)
	default:
		err = errChallenge()
	}
	if err != nil {
		if parley.IsCode(err, parley.CodeUnauthenticated) {
			if n, ferr := a.store.FailLoginChallenge(ctx, c.TokenHash); ferr == nil && n >= maxChallengeFailures {
				_ = a.store.DeleteLoginChallenge(ctx, c.TokenHash)
			}
			a.log.Info("sign-in failed", "username", u.Username, "user_id", u.ID, "address", in.Address,
				"reason", "wrong second factor")
		} else {
			refund(true, true)
		}
		return SignInResult{}, nil, err
	}
	refund(false, true)
	a.acct.loginUser.Reset(u.Username)
	// Consuming the challenge decides races: one challenge, one session.
	if err := a.store.DeleteLoginChallenge(ctx, c.TokenHash); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return SignInResult{}, nil, errChallenge()
		}
		return SignInResult{}, nil, err
	}
	ss, tok, err := a.createSession(ctx, u.ID, in.UserAgent, in.Address)
	if err != nil {
		return SignInResult{}, nil, err
	}
	u.TwoFactor = true
	a.log.Info("sign-in", "username", u.Username, "user_id", u.ID, "session_id", ss.ID, "address", in.Address,
		"second_factor", map[bool]string{true: "recovery_code", false: "totp"}[recovery])
	return SignInResult{User: u, Token: tok}, codes, nil
}

// checkCode accepts a TOTP code once (the store refuses a step used before)
// or consumes a recovery code. CodeUnauthenticated (field code) otherwise.
func (a *App) checkCode(ctx context.Context, userID, code string, recovery bool) error {
	if recovery {
		err := a.store.UseRecoveryCode(ctx, userID, recoveryHash(code))
		if parley.IsCode(err, parley.CodeNotFound) {
			return errWrongCode()
		}
		return err
	}
	tf, err := a.store.TwoFactor(ctx, userID)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && !tf.Enabled {
		return errWrongCode()
	} else if err != nil {
		return err
	}
	step, ok := a.matchStep(tf.Secret, code)
	if !ok {
		return errWrongCode()
	}
	err = a.store.UseTwoFactorStep(ctx, userID, step)
	if parley.IsCode(err, parley.CodeConflict) {
		return &parley.Error{Code: parley.CodeUnauthenticated, Field: "code",
			Message: "this code was used already; wait for the next one"}
	} else if parley.IsCode(err, parley.CodeNotFound) {
		return errWrongCode()
	}
	return err
}

// matchStep returns the time step (now ±totpSkew) whose code is code.
func (a *App) matchStep(secret []byte, code string) (int64, bool) {
	key := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	now := a.now().Unix() / int64(totpPeriod/time.Second)
	opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for step := now - totpSkew; step <= now+totpSkew; step++ {
		if step < 0 {
			continue
		}
		if ok, err := hotp.ValidateCustom(code, uint64(step), key, opts); err == nil && ok {
			return step, true
		}
	}
	return 0, false
}

// TOTPCode returns the code of secret (base32, as Enrolment.Secret) at t:
// what an authenticator app shows. For tests and tools.
func TOTPCode(secret string, t time.Time) (string, error) {
	step := t.Unix() / int64(totpPeriod/time.Second)
	if step < 0 {
		return "", parley.Invalid("time", "no TOTP code before 1970")
	}
	return hotp.GenerateCodeCustom(secret, uint64(step), // #nosec G115 -- step >= 0 (checked above)
		hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// enrol stores a new pending secret for u and returns it.
func (a *App) enrol(ctx context.Context, u parley.User) (Enrolment, error) {
	secret := make([]byte, totpSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	if err := a.store.SetPendingTwoFactor(ctx, u.ID, secret, a.now().UTC().Truncate(time.Millisecond)); err != nil {
		return Enrolment{}, err
	}
	key := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	q := url.Values{}
	q.Set("secret", key)
	q.Set("issuer", a.tf.issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	uri := (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + a.tf.issuer + ":" + u.Username,
		RawQuery: q.Encode()}).String()
	e := Enrolment{Secret: key, URI: uri}
	if k, err := otp.NewKeyFromURL(uri); err == nil {
		if img, err := k.Image(qrPixels, qrPixels); err == nil {
			var b bytes.Buffer
			if err := png.Encode(&b, img); err == nil {
				e.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
			}
		}
	}
	return e, nil
}

// confirm checks the first code of a pending secret, turns two-factor
// sign-in on and returns the new recovery codes.
func (a *App) confirm(ctx context.Context, userID, code string, recovery bool) ([]string, error) {
	if recovery {
		return nil, parley.Invalid("code", "confirm with a %d-digit code from your authenticator app", parley.TOTPDigits)
	}
	tf, err := a.store.TwoFactor(ctx, userID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return nil, parley.Errorf(parley.CodeConflict, "start the set-up first: no secret is waiting for confirmation")
	} else if err != nil {
		return nil, err
	}
	if tf.Enabled {
		return nil, parley.Errorf(parley.CodeConflict, "two-factor sign-in is already on")
	}
	step, ok := a.matchStep(tf.Secret, code)
	if !ok {
		return nil, errWrongCode()
	}
	codes, hashes := newRecoveryCodes()
	if err := a.store.EnableTwoFactor(ctx, userID, step, hashes); err != nil {
		return nil, err
	}
	a.log.Info("two-factor sign-in enabled", "user_id", userID)
	return codes, nil
}

// newRecoveryCodes returns RecoveryCodeCount fresh codes, shown as
// XXXX-XXXX-XXXX-XXXX, and the hashes to store.
func newRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, parley.RecoveryCodeCount)
	hashes := make([][]byte, parley.RecoveryCodeCount)
	for i := range codes {
		var b [10]byte // 80 bits = 16 base32 letters
		if _, err := rand.Read(b[:]); err != nil {
			panic("parley: crypto/rand failed: " + err.Error())
		}
		raw := base32.StdEncoding.EncodeToString(b[:])
		codes[i] = raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
		hashes[i] = recoveryHash(raw)
	}
	return codes, hashes
}

// recoveryHash is the stored form of a normalised recovery code. The codes
// carry 80 random bits, so a plain SHA-256 cannot be reversed by guessing.
func recoveryHash(norm string) []byte {
	h := sha256.Sum256([]byte(strings.ToUpper(norm)))
	return h[:]
}

// TwoFactorStatus returns the caller's two-factor state.
func (a *App) TwoFactorStatus(ctx context.Context, actor parley.Actor) (TwoFactorStatus, error) {
	if actor.Anonymous() {
		return TwoFactorStatus{}, unauthenticated("sign in first")
	}
	st := TwoFactorStatus{Required: a.tf.required}
	if !st.Required {
		o, err := a.org(ctx, actor.Org)
		if err != nil {
			return TwoFactorStatus{}, err
		}
		st.Required = o.RequireTwoFactor
	}
	tf, err := a.store.TwoFactor(ctx, actor.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return st, nil
	} else if err != nil {
		return TwoFactorStatus{}, err
	}
	st.Enabled, st.Pending, st.RecoveryCodesLeft = tf.Enabled, !tf.Enabled, tf.RecoveryLeft
	return st, nil
}

// BeginTwoFactor starts enrolment from the settings page: after checking
// the caller's password it stores a new pending secret (replacing one not
// yet confirmed) and returns it. CodeInvalid (field password) for a wrong
// password, counted like a failed sign-in; CodeConflict if two-factor
// sign-in is on already.
func (a *App) BeginTwoFactor(ctx context.Context, actor parley.Actor, password string) (Enrolment, error) {
	u, err := a.reauth(ctx, actor, password)
	if err != nil {
		return Enrolment{}, err
	}
	if u.TwoFactor {
		return Enrolment{}, parley.Errorf(parley.CodeConflict, "two-factor sign-in is already on")
	}
	return a.enrol(ctx, u)
}

// ConfirmTwoFactor turns on the caller's pending secret with its first code
// and returns the recovery codes (shown once). CodeUnauthenticated (field
// code) for a wrong code, counted like a failed sign-in; CodeConflict if
// nothing is pending or it is on already.
func (a *App) ConfirmTwoFactor(ctx context.Context, actor parley.Actor, code string) ([]string, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	norm, recovery, err := parley.TwoFactorCode("code", code)
	if err != nil {
		return nil, err
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	if ok, wait := a.acct.loginUser.Allow(u.Username); !ok {
		return nil, errTooManyCodes(wait)
	}
	codes, err := a.confirm(ctx, u.ID, norm, recovery)
	if err == nil || !parley.IsCode(err, parley.CodeUnauthenticated) {
		a.acct.loginUser.Give(u.Username, 1)
	}
	return codes, err
}

func errTooManyCodes(wait time.Duration) error {
	return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait,
		Message: "too many failed attempts; wait before trying again"}
}

// DisableTwoFactor turns the caller's two-factor sign-in off; it needs the
// password and a current code (or a recovery code). CodeForbidden when the
// server requires two-factor sign-in; CodeInvalid (field password) for a
// wrong password; CodeUnauthenticated (field code) for a wrong code; both
// count as failed sign-ins. CodeConflict if it is not on.
func (a *App) DisableTwoFactor(ctx context.Context, actor parley.Actor, password, code string) error {
	if a.tf.required && !actor.Anonymous() {
		return parley.Errorf(parley.CodeForbidden, "this server requires two-factor sign-in; it cannot be turned off")
	}
	if !actor.Anonymous() && a.twoFactorRequired(ctx, parley.User{Org: actor.Org}) {
		return parley.Errorf(parley.CodeForbidden, "your organisation requires two-factor sign-in; it cannot be turned off")
	}
	u, err := a.reauthCode(ctx, actor, password, code)
	if err != nil {
		return err
	}
	if err := a.store.DeleteTwoFactor(ctx, u.ID); err != nil {
		return err
	}
	a.log.Info("two-factor sign-in disabled", "user_id", u.ID)
	return nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes (the old
// ones stop working) and returns the new ones. Needs the password and a
// code, as DisableTwoFactor.
func (a *App) RegenerateRecoveryCodes(ctx context.Context, actor parley.Actor, password, code string) ([]string, error) {
	u, err := a.reauthCode(ctx, actor, password, code)
	if err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	if err := a.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// reauth checks the caller's password, counting a wrong one against the
// account's sign-in budget (CodeInvalid, field password).
func (a *App) reauth(ctx context.Context, actor parley.Actor, password string) (parley.User, error) {
	if actor.Anonymous() {
		return parley.User{}, unauthenticated("sign in first")
	}
	if password == "" {
		return parley.User{}, parley.Invalid("password", "password is required")
	}
	if len(password) > parley.PasswordMaxLen {
		return parley.User{}, parley.Invalid("password", "password is wrong")
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return parley.User{}, err
	}
	if ok, wait := a.acct.loginUser.Allow(u.Username); !ok {
		return parley.User{}, errTooManyCodes(wait)
	}
	hash, err := a.store.PasswordHash(ctx, u.ID)
	if err != nil {
		a.acct.loginUser.Give(u.Username, 1)
		return parley.User{}, err
	}
	ok, _, err := a.acct.pw.verify(ctx, password, hash)
	if err != nil {
		a.acct.loginUser.Give(u.Username, 1)
		return parley.User{}, err
	}
	if !ok {
		return parley.User{}, parley.Invalid("password", "password is wrong")
	}
	a.acct.loginUser.Give(u.Username, 1)
	return u, nil
}

// reauthCode is reauth and then a second factor for an account that has it.
func (a *App) reauthCode(ctx context.Context, actor parley.Actor, password, code string) (parley.User, error) {
	if actor.Anonymous() {
		return parley.User{}, unauthenticated("sign in first")
	}
	norm, recovery, err := parley.TwoFactorCode("code", code)
	if err != nil {
		return parley.User{}, err
	}
	u, err := a.reauth(ctx, actor, password)
	if err != nil {
		return parley.User{}, err
	}
	if !u.TwoFactor {
		return parley.User{}, parley.Errorf(parley.CodeConflict, "two-factor sign-in is not on")
	}
	if ok, wait := a.acct.loginUser.Allow(u.Username); !ok {
		return parley.User{}, errTooManyCodes(wait)
	}
	if err := a.checkCode(ctx, u.ID, norm, recovery); err != nil {
		if !parley.IsCode(err, parley.CodeUnauthenticated) {
			a.acct.loginUser.Give(u.Username, 1)
		}
		return parley.User{}, err
	}
	a.acct.loginUser.Give(u.Username, 1)
	return u, nil
}

// ResetTwoFactor turns a user's two-factor sign-in off (a lost phone and
// lost recovery codes): admins only, audited as user.reset_2fa. Sessions
// stay; on a server that requires two-factor sign-in the user must enrol
// again at the next sign-in (and their sessions stop working until then).
// CodeNotFound for an unknown or deleted user; CodeConflict if the user has
// no second factor.
func (a *App) ResetTwoFactor(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	u, err := a.adminTarget(ctx, actor, id)
	if err != nil {
		return parley.User{}, err
	}
	if err := a.store.DeleteTwoFactor(ctx, u.ID); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.User{}, parley.Errorf(parley.CodeConflict, "%s has no two-factor sign-in", u.Username)
		}
		return parley.User{}, err
	}
	u.TwoFactor = false
	a.acct.loginUser.Reset(u.Username)
	a.audit(ctx, actor, "user.reset_2fa", u.ID, u.Username, "two-factor sign-in removed")
	return u, nil
}
