package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// enable2FA turns two-factor sign-in on for actor and returns the secret
// and the recovery codes.
func (e *acctEnv) enable2FA(t *testing.T, actor parley.Actor) (string, []string) {
	t.Helper()
	ctx := context.Background()
	en, err := e.app.BeginTwoFactor(ctx, actor, acctPassword)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.app.ConfirmTwoFactor(ctx, actor, e.code(t, en.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return en.Secret, codes
}

func (e *acctEnv) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := app.TOTPCode(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTOTPMatchesRFC6238 checks the code computation against the SHA-1
// test vectors of RFC 6238 Appendix B (8-digit codes there; the last six
// digits are the 6-digit code).
func TestTOTPMatchesRFC6238(t *testing.T) {
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of "12345678901234567890"
	for _, v := range []struct {
		unix int64
		want string
	}{{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"}, {1234567890, "89005924"},
		{2000000000, "69279037"}, {20000000000, "65353130"}} {
		got, err := app.TOTPCode(secret, time.Unix(v.unix, 0))
		if err != nil || got != v.want[2:] {
			t.Errorf("TOTP at %d = %q, %v; want %q", v.unix, got, err, v.want[2:])
		}
	}
}

func TestEnrolmentShowsSecretURIAndQR(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, actor := e.register(t, "alice")
	_, err := e.app.BeginTwoFactor(ctx, actor, "wrong-password")
	wantErr(t, "begin with a wrong password", err, parley.CodeInvalid, "password")
	_, err = e.app.BeginTwoFactor(ctx, actor, "")
	wantErr(t, "begin without a password", err, parley.CodeInvalid, "password")
	en, err := e.app.BeginTwoFactor(ctx, actor, acctPassword)
	if err != nil {
		t.Fatal(err)
	}
	if len(en.Secret) != 32 || !strings.HasPrefix(en.URI, "otpauth://totp/Parley:alice?") ||
		!strings.Contains(en.URI, "secret="+en.Secret) || !strings.HasPrefix(en.QR, "data:image/png;base64,") {
		t.Fatalf("enrolment = %+v", en)
	}
	st, _ := e.app.TwoFactorStatus(ctx, actor)
	if st.Enabled || !st.Pending {
		t.Fatalf("status while pending = %+v", st)
	}
	// Confirming: a wrong code, a recovery-looking code and a malformed one are refused.
	_, err = e.app.ConfirmTwoFactor(ctx, actor, "000000")
	if c := e.code(t, en.Secret); c == "000000" {
		t.Skip("the clock's code happens to be 000000")
	}
	wantErr(t, "confirm with a wrong code", err, parley.CodeUnauthenticated, "code")
	_, err = e.app.ConfirmTwoFactor(ctx, actor, "abcd-efgh-ijkl-mnop")
	wantErr(t, "confirm with a recovery code", err, parley.CodeInvalid, "code")
	for _, bad := range []string{"", "12345", "1234567", "12a456", strings.Repeat("1", 65)} {
		_, err = e.app.ConfirmTwoFactor(ctx, actor, bad)
		if !parley.IsCode(err, parley.CodeInvalid) && !parley.IsCode(err, parley.CodeTooLarge) {
			t.Fatalf("confirm with %q: %v", bad, err)
		}
	}
	codes, err := e.app.ConfirmTwoFactor(ctx, actor, e.code(t, en.Secret))
	if err != nil || len(codes) != parley.RecoveryCodeCount {
		t.Fatalf("confirm = %v, %v", codes, err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || seen[c] {
			t.Fatalf("recovery code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	st, _ = e.app.TwoFactorStatus(ctx, actor)
	if !st.Enabled || st.Pending || st.RecoveryCodesLeft != 10 {
		t.Fatalf("status after confirm = %+v", st)
	}
	_, err = e.app.BeginTwoFactor(ctx, actor, acctPassword)
	wantErr(t, "begin again", err, parley.CodeConflict, "")
}

func TestSignInAsksForASecondFactor(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, actor := e.register(t, "bob")
	secret, codes := e.enable2FA(t, actor)
	in := app.LoginInput{Username: "bob", Password: acctPassword, Address: "192.0.2.7", UserAgent: "ua"}

	// The password alone gives a challenge, never a session; Login (what the
	// password-only gateways use) refuses.
	res, err := e.app.SignIn(ctx, in)
	if err != nil || res.Token != "" || res.Challenge == nil || res.Challenge.Kind != parley.ChallengeVerify {
		t.Fatalf("SignIn = %+v, %v", res, err)
	}
	if _, _, err := e.app.Login(ctx, in); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("Login of a 2FA account = %v, want unauthenticated", err)
	}
	// A wrong password still gets the usual answer, no challenge.
	bad := in
	bad.Password = "not-the-password"
	if _, err := e.app.SignIn(ctx, bad); !parley.IsCode(err, parley.CodeUnauthenticated) || parley.AsError(err).Field != "" {
		t.Fatalf("SignIn with a wrong password = %v", err)
	}

	second := func(ch, code string) (app.SignInResult, error) {
		res, _, err := e.app.FinishSignIn(ctx, app.SecondFactorInput{Challenge: ch, Code: code, Address: "192.0.2.7"})
		return res, err
	}
	_, err = second(res.Challenge.Token, "000001")
	wantErr(t, "wrong code", err, parley.CodeUnauthenticated, "code")
	_, err = second("not-a-challenge", e.code(t, secret))
	wantErr(t, "malformed challenge", err, parley.CodeUnauthenticated, "challenge")
	_, err = second("", e.code(t, secret))
	wantErr(t, "missing challenge", err, parley.CodeInvalid, "challenge")
	_, err = second(res.Challenge.Token, "")
	wantErr(t, "missing code", err, parley.CodeInvalid, "code")

	// The code from the enrolment's step is spent: wait for the next step.
	_, err = second(res.Challenge.Token, e.code(t, secret))
	wantErr(t, "replayed enrolment code", err, parley.CodeUnauthenticated, "code")
	e.clock.Add(30 * time.Second)
	code := e.code(t, secret)
	ok, err := second(res.Challenge.Token, code)
	if err != nil || ok.Token == "" || ok.User.Username != "bob" {
		t.Fatalf("FinishSignIn = %+v, %v", ok, err)
	}
	e.auth(t, ok.Token)
	// The challenge is spent; the same code is refused on a new challenge.
	_, err = second(res.Challenge.Token, code)
	wantErr(t, "spent challenge", err, parley.CodeUnauthenticated, "challenge")
	res2, err := e.app.SignIn(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = second(res2.Challenge.Token, code)
	wantErr(t, "replayed code", err, parley.CodeUnauthenticated, "code")

	// A recovery code works once, in any case and grouping.
	rc := strings.ToLower(strings.ReplaceAll(codes[0], "-", " "))
	if _, err := second(res2.Challenge.Token, rc); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	res3, _ := e.app.SignIn(ctx, in)
	_, err = second(res3.Challenge.Token, codes[0])
	wantErr(t, "reused recovery code", err, parley.CodeUnauthenticated, "code")
	if st, _ := e.app.TwoFactorStatus(ctx, actor); st.RecoveryCodesLeft != 9 {
		t.Fatalf("recovery codes left = %d, want 9", st.RecoveryCodesLeft)
	}

	// A challenge expires.
	res4, _ := e.app.SignIn(ctx, in)
	e.clock.Add(6 * time.Minute)
	_, err = second(res4.Challenge.Token, e.code(t, secret))
	wantErr(t, "expired challenge", err, parley.CodeUnauthenticated, "challenge")

	// SCRAM (XMPP) refuses the account even with the right password proof:
	// covered by the gateway tests; the app-level rule is the same as Login's.
}

func TestSecondFactorGuessesAreLimited(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, actor := e.register(t, "carol")
	secret, _ := e.enable2FA(t, actor)
	e.clock.Add(30 * time.Second)
	in := app.LoginInput{Username: "carol", Password: acctPassword, Address: "192.0.2.9"}
	res, err := e.app.SignIn(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if e.code(t, secret) == wrong {
		wrong = "000001"
	}
	// Five wrong codes end the challenge: even the right code is refused then.
	for i := range 5 {
		_, _, err := e.app.FinishSignIn(ctx, app.SecondFactorInput{Challenge: res.Challenge.Token, Code: wrong})
		wantErr(t, "wrong code "+string(rune('1'+i)), err, parley.CodeUnauthenticated, "code")
	}
	_, _, err = e.app.FinishSignIn(ctx, app.SecondFactorInput{Challenge: res.Challenge.Token, Code: e.code(t, secret)})
	wantErr(t, "right code after 5 wrong", err, parley.CodeUnauthenticated, "challenge")
	// Wrong codes count against the account's sign-in budget (10): after
	// five more the account is locked out, with Retry-After.
	for range 5 {
		res, err := e.app.SignIn(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.app.FinishSignIn(ctx, app.SecondFactorInput{Challenge: res.Challenge.Token, Code: wrong})
		if !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	_, err = e.app.SignIn(ctx, in)
	if pe := parley.AsError(err); pe == nil || pe.Code != parley.CodeRateLimited || pe.RetryAfter <= 0 {
		t.Fatalf("sign-in after 10 wrong codes = %v, want rate_limited", err)
	}
}

func TestDisableAndRegenerateNeedPasswordAndCode(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, actor := e.register(t, "dave")
	err := e.app.DisableTwoFactor(ctx, actor, acctPassword, "123456")
	wantErr(t, "disable when off", err, parley.CodeConflict, "")
	secret, codes := e.enable2FA(t, actor)
	e.clock.Add(30 * time.Second)
	wantErr(t, "disable without a code", e.app.DisableTwoFactor(ctx, actor, acctPassword, ""), parley.CodeInvalid, "code")
	wantErr(t, "disable with a wrong password", e.app.DisableTwoFactor(ctx, actor, "wrong-password", e.code(t, secret)),
		parley.CodeInvalid, "password")
	wantErr(t, "disable anonymously", e.app.DisableTwoFactor(ctx, parley.Actor{}, acctPassword, e.code(t, secret)),
		parley.CodeUnauthenticated, "")

	fresh, err := e.app.RegenerateRecoveryCodes(ctx, actor, acctPassword, codes[0])
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate = %v, %v", fresh, err)
	}
	// The old codes are gone.
	wantErr(t, "disable with an old recovery code", e.app.DisableTwoFactor(ctx, actor, acctPassword, codes[1]),
		parley.CodeUnauthenticated, "code")
	if err := e.app.DisableTwoFactor(ctx, actor, acctPassword, e.code(t, secret)); err != nil {
		t.Fatal(err)
	}
	res, err := e.app.SignIn(ctx, app.LoginInput{Username: "dave", Password: acctPassword})
	if err != nil || res.Token == "" || res.Challenge != nil {
		t.Fatalf("sign-in after disable = %+v, %v", res, err)
	}
}

func TestRequiredTwoFactor(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, oldTok, _ := e.register(t, "erin")
	// The same store, now served by an App that requires two-factor sign-in.
	req := app.New(app.Options{Store: e.store, Bus: nopBus{}, Now: e.clock.Now,
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}, TwoFactor: app.TwoFactorOptions{Required: true}})
	if _, err := req.Authenticate(ctx, oldTok); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("old session of an account without 2FA = %v, want unauthenticated", err)
	}
	res, err := req.SignIn(ctx, app.LoginInput{Username: "erin", Password: acctPassword})
	if err != nil || res.Challenge == nil || res.Challenge.Kind != parley.ChallengeSetup {
		t.Fatalf("SignIn = %+v, %v", res, err)
	}
	en, err := req.BeginSetupSignIn(ctx, res.Challenge.Token)
	if err != nil {
		t.Fatal(err)
	}
	done, codes, err := req.FinishSignIn(ctx, app.SecondFactorInput{Challenge: res.Challenge.Token, Code: e.code(t, en.Secret)})
	if err != nil || done.Token == "" || len(codes) != 10 {
		t.Fatalf("finish setup = %+v, %v, %v", done, codes, err)
	}
	actor, err := req.Authenticate(ctx, done.Token)
	if err != nil {
		t.Fatal(err)
	}
	// It cannot be turned off; a verify challenge cannot start a setup.
	wantErr(t, "disable when required", req.DisableTwoFactor(ctx, actor, acctPassword, codes[0]), parley.CodeForbidden, "")
	res, _ = req.SignIn(ctx, app.LoginInput{Username: "erin", Password: acctPassword})
	if res.Challenge == nil || res.Challenge.Kind != parley.ChallengeVerify {
		t.Fatalf("second sign-in = %+v", res)
	}
	_, err = req.BeginSetupSignIn(ctx, res.Challenge.Token)
	wantErr(t, "setup on a verify challenge", err, parley.CodeUnauthenticated, "challenge")

	// Registration answers with a setup challenge, not a session.
	reg, err := req.RegisterSignIn(ctx, app.RegisterInput{Username: "frank", Password: acctPassword})
	if err != nil || reg.Token != "" || reg.Challenge == nil || reg.Challenge.Kind != parley.ChallengeSetup {
		t.Fatalf("RegisterSignIn = %+v, %v", reg, err)
	}

	// An admin reset takes the second factor away (audited); with 2FA
	// required the user's sessions stop until they enrol again.
	target, _ := req.FindUser(ctx, app.Operator, "erin")
	_, err = req.ResetTwoFactor(ctx, actor, target.ID)
	wantErr(t, "reset by a non-admin", err, parley.CodeForbidden, "")
	if _, err := req.ResetTwoFactor(ctx, app.Operator, target.ID); err != nil {
		t.Fatal(err)
	}
	_, err = req.ResetTwoFactor(ctx, app.Operator, target.ID)
	wantErr(t, "reset twice", err, parley.CodeConflict, "")
	_, err = req.ResetTwoFactor(ctx, app.Operator, parley.NewID())
	wantErr(t, "reset of an unknown user", err, parley.CodeNotFound, "")
	if _, err := req.Authenticate(ctx, done.Token); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("session after reset under required 2FA = %v", err)
	}
	entries, err := req.Audit(ctx, app.Operator, parley.AuditQuery{TargetID: target.ID})
	if err != nil || len(entries) == 0 || entries[0].Action != "user.reset_2fa" {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
}
