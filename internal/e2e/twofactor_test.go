package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/server"
)

// totpAt is the code an authenticator app shows for secret at t.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := app.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func twoFactorStores(t *testing.T, run func(t *testing.T, configure func(*server.Config))) {
	t.Run("sqlite", func(t *testing.T) { run(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.Schema(t)
		run(t, func(c *server.Config) { c.DB = db })
	})
}

// The whole two-factor life of an account through the SDK: enrol, sign in
// with a code (a replay refused), with a recovery code (once), replace the
// codes, turn it off; an admin reset.
func TestTwoFactorSignIn(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, configure)
		ctx := context.Background()
		alice, _ := env.NewUser(t, "alice")
		admin, _ := env.NewAdmin(t, "root")

		st, err := alice.TwoFactorStatus(ctx)
		if err != nil || st.Enabled || st.Required {
			t.Fatalf("status = %+v, %v", st, err)
		}
		en, err := alice.BeginTwoFactor(ctx, apitest.Password)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		codes, err := alice.ConfirmTwoFactor(ctx, totpAt(t, en.Secret, t0))
		if err != nil || len(codes) != 10 {
			t.Fatalf("confirm = %v, %v", codes, err)
		}

		// A password alone no longer signs in.
		c := env.Client()
		_, err = c.Login(ctx, "alice", apitest.Password)
		var tf *client.TwoFactorRequired
		if !errors.As(err, &tf) || tf.Kind != "verify" || tf.Challenge == "" || c.Token() != "" {
			t.Fatalf("login = %v (%+v), token %q", err, tf, c.Token())
		}
		// The enrolment's code is spent; the next step's code works, once.
		_, err = c.FinishSignIn(ctx, tf.Challenge, totpAt(t, en.Secret, t0))
		if pe := parley.AsError(err); pe == nil || pe.Code != parley.CodeUnauthenticated || pe.Field != "code" {
			t.Fatalf("replayed enrolment code: %v", err)
		}
		next := totpAt(t, en.Secret, t0.Add(30*time.Second))
		res, err := c.FinishSignIn(ctx, tf.Challenge, next)
		if err != nil || res.Token == "" || c.Token() != res.Token || res.User.Username != "alice" {
			t.Fatalf("finish = %+v, %v", res, err)
		}
		if me, err := c.Me(ctx); err != nil || me.Username != "alice" {
			t.Fatalf("me with the new session: %+v, %v", me, err)
		}
		c2 := env.Client()
		_, err = c2.Login(ctx, "alice", apitest.Password)
		if !errors.As(err, &tf) {
			t.Fatal(err)
		}
		if _, err := c2.FinishSignIn(ctx, tf.Challenge, next); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("replayed code on a new challenge: %v", err)
		}
		if _, err := c2.FinishSignIn(ctx, tf.Challenge, codes[0]); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		c3 := env.Client()
		_, err = c3.Login(ctx, "alice", apitest.Password)
		if !errors.As(err, &tf) {
			t.Fatal(err)
		}
		if _, err := c3.FinishSignIn(ctx, tf.Challenge, codes[0]); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("reused recovery code: %v", err)
		}
		if st, _ := alice.TwoFactorStatus(ctx); !st.Enabled || st.RecoveryCodesLeft != 9 {
			t.Fatalf("status = %+v", st)
		}
		fresh, err := alice.RegenerateRecoveryCodes(ctx, apitest.Password, codes[1])
		if err != nil || len(fresh) != 10 {
			t.Fatalf("regenerate = %v, %v", fresh, err)
		}
		if err := alice.DisableTwoFactor(ctx, apitest.Password, codes[2]); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("disable with a replaced recovery code: %v", err)
		}
		if err := alice.DisableTwoFactor(ctx, apitest.Password, fresh[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client().Login(ctx, "alice", apitest.Password); err != nil {
			t.Fatalf("login after disable: %v", err)
		}

		// Admin reset: turn it on again, then the admin takes it away.
		en, err = alice.BeginTwoFactor(ctx, apitest.Password)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.ConfirmTwoFactor(ctx, totpAt(t, en.Secret, time.Now())); err != nil {
			t.Fatal(err)
		}
		me, _ := alice.Me(ctx)
		if _, err := alice.ResetTwoFactor(ctx, me.ID); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("reset by the user: %v", err)
		}
		if _, err := admin.ResetTwoFactor(ctx, me.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ResetTwoFactor(ctx, me.ID); !parley.IsCode(err, parley.CodeConflict) {
			t.Fatalf("second reset: %v", err)
		}
		if _, err := env.Client().Login(ctx, "alice", apitest.Password); err != nil {
			t.Fatalf("login after reset: %v", err)
		}
		entries, _, err := admin.Audit(ctx, me.ID, "", 0)
		if err != nil || len(entries) == 0 || entries[0].Action != "user.reset_2fa" || entries[0].Actor != "root" {
			t.Fatalf("audit = %+v, %v", entries, err)
		}
	})
}

// With --require-2fa, registration and sign-in of an account without two-
// factor sign-in end in a setup challenge; sessions of such accounts stop
// working; it cannot be turned off.
func TestRequireTwoFactor(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, func(c *server.Config) {
			if configure != nil {
				configure(c)
			}
			c.Require2FA = true
		})
		ctx := context.Background()
		c := env.Client()
		_, err := c.Register(ctx, client.RegisterRequest{Username: "newbie", Password: apitest.Password})
		var tf *client.TwoFactorRequired
		if !errors.As(err, &tf) || tf.Kind != "setup" {
			t.Fatalf("register = %v", err)
		}
		// A setup challenge takes no recovery code and no code before setup.
		if _, err := c.FinishSignIn(ctx, tf.Challenge, "123456"); !parley.IsCode(err, parley.CodeConflict) {
			t.Fatalf("finish before setup: %v", err)
		}
		en, err := c.SetupSignIn(ctx, tf.Challenge)
		if err != nil || !strings.HasPrefix(en.QR, "data:image/png;base64,") {
			t.Fatalf("setup = %+v, %v", en, err)
		}
		res, err := c.FinishSignIn(ctx, tf.Challenge, totpAt(t, en.Secret, time.Now()))
		if err != nil || res.Token == "" || len(res.RecoveryCodes) != 10 {
			t.Fatalf("finish setup = %+v, %v", res, err)
		}
		st, err := c.TwoFactorStatus(ctx)
		if err != nil || !st.Enabled || !st.Required {
			t.Fatalf("status = %+v, %v", st, err)
		}
		if err := c.DisableTwoFactor(ctx, apitest.Password, res.RecoveryCodes[0]); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("disable under --require-2fa: %v", err)
		}
		// An account made before (here: by the operator) has a session that
		// does not work until it enrols.
		u, err := env.Server.App.AdminCreateUser(ctx, app.Operator, app.RegisterInput{Username: "oldie", Password: apitest.Password}, parley.UserRoleUser)
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.Client().Login(ctx, "oldie", apitest.Password)
		if !errors.As(err, &tf) || tf.Kind != "setup" {
			t.Fatalf("login of an account without 2FA: %v", err)
		}
		// A verify challenge cannot be used to set up.
		if _, err := env.Client().SetupSignIn(ctx, "x"); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("setup with a bad challenge: %v", err)
		}
		_ = u
	})
}

// Bad input on every two-factor endpoint: a clear typed error naming the
// field, nothing changed.
func TestTwoFactorBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	tok := alice.Token()
	long := strings.Repeat("9", 65)
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            parley.Code
		field                           string
	}{
		{"finish: missing challenge", "POST", "/api/v1/auth/login/2fa", "", `{"code":"123456"}`, 400, parley.CodeInvalid, "challenge"},
		{"finish: missing code", "POST", "/api/v1/auth/login/2fa", "", `{"challenge":"abc"}`, 400, parley.CodeInvalid, "code"},
		{"finish: code too long", "POST", "/api/v1/auth/login/2fa", "", `{"challenge":"abc","code":"` + long + `"}`, 413, parley.CodeTooLarge, "code"},
		{"finish: code of letters", "POST", "/api/v1/auth/login/2fa", "", `{"challenge":"abc","code":"abcdef"}`, 400, parley.CodeInvalid, "code"},
		{"finish: code a number", "POST", "/api/v1/auth/login/2fa", "", `{"challenge":"abc","code":123456}`, 400, parley.CodeInvalid, "code"},
		{"finish: unknown field", "POST", "/api/v1/auth/login/2fa", "", `{"challenge":"abc","code":"123456","x":1}`, 400, parley.CodeInvalid, ""},
		{"finish: made-up challenge", "POST", "/api/v1/auth/login/2fa", "", `{"challenge":"` + strings.Repeat("A", 43) + `","code":"123456"}`, 401, parley.CodeUnauthenticated, "challenge"},
		{"finish: not JSON", "POST", "/api/v1/auth/login/2fa", "", `{`, 400, parley.CodeInvalid, ""},
		{"setup at sign-in: missing challenge", "POST", "/api/v1/auth/login/2fa/setup", "", `{}`, 400, parley.CodeInvalid, "challenge"},
		{"setup at sign-in: wrong type", "POST", "/api/v1/auth/login/2fa/setup", "", `{"challenge":[]}`, 400, parley.CodeInvalid, "challenge"},
		{"setup at sign-in: made-up challenge", "POST", "/api/v1/auth/login/2fa/setup", "", `{"challenge":"nope"}`, 401, parley.CodeUnauthenticated, "challenge"},
		{"begin: missing password", "POST", "/api/v1/me/2fa/setup", tok, `{}`, 400, parley.CodeInvalid, "password"},
		{"begin: wrong password", "POST", "/api/v1/me/2fa/setup", tok, `{"password":"wrong-password"}`, 400, parley.CodeInvalid, "password"},
		{"begin: password too long", "POST", "/api/v1/me/2fa/setup", tok, `{"password":"` + strings.Repeat("p", 300) + `"}`, 400, parley.CodeInvalid, "password"},
		{"begin: wrong type", "POST", "/api/v1/me/2fa/setup", tok, `{"password":true}`, 400, parley.CodeInvalid, "password"},
		{"confirm: nothing pending", "POST", "/api/v1/me/2fa/confirm", tok, `{"code":"123456"}`, 409, parley.CodeConflict, ""},
		{"confirm: missing code", "POST", "/api/v1/me/2fa/confirm", tok, `{}`, 400, parley.CodeInvalid, "code"},
		{"confirm: 5 digits", "POST", "/api/v1/me/2fa/confirm", tok, `{"code":"12345"}`, 400, parley.CodeInvalid, "code"},
		{"disable: not on", "POST", "/api/v1/me/2fa/disable", tok, `{"password":"` + apitest.Password + `","code":"123456"}`, 409, parley.CodeConflict, ""},
		{"disable: missing code", "POST", "/api/v1/me/2fa/disable", tok, `{"password":"x"}`, 400, parley.CodeInvalid, "code"},
		{"recovery codes: not on", "POST", "/api/v1/me/2fa/recovery-codes", tok, `{"password":"` + apitest.Password + `","code":"123456"}`, 409, parley.CodeConflict, ""},
		{"recovery codes: wrong type", "POST", "/api/v1/me/2fa/recovery-codes", tok, `{"password":"x","code":1}`, 400, parley.CodeInvalid, "code"},
		{"app password: missing name", "POST", "/api/v1/me/app-passwords", tok, `{"password":"` + apitest.Password + `"}`, 400, parley.CodeInvalid, "name"},
		{"app password: name too long", "POST", "/api/v1/me/app-passwords", tok, `{"name":"` + strings.Repeat("n", 65) + `","password":"` + apitest.Password + `"}`, 413, parley.CodeTooLarge, "name"},
		{"app password: name with a newline", "POST", "/api/v1/me/app-passwords", tok, `{"name":"a\nb","password":"` + apitest.Password + `"}`, 400, parley.CodeInvalid, "name"},
		{"app password: wrong password", "POST", "/api/v1/me/app-passwords", tok, `{"name":"x","password":"wrong-password"}`, 400, parley.CodeInvalid, "password"},
		{"app password: wrong type", "POST", "/api/v1/me/app-passwords", tok, `{"name":5,"password":"x"}`, 400, parley.CodeInvalid, "name"},
		{"app password: revoke unknown", "DELETE", "/api/v1/me/app-passwords/" + parley.NewID(), tok, ``, 404, parley.CodeNotFound, ""},
		{"app password: revoke malformed id", "DELETE", "/api/v1/me/app-passwords/x", tok, ``, 404, parley.CodeNotFound, ""},
		{"app password: anonymous", "GET", "/api/v1/me/app-passwords", "", ``, 401, parley.CodeUnauthenticated, ""},
		{"reset: not an admin", "POST", "/api/v1/admin/users/" + parley.NewID() + "/2fa/reset", tok, ``, 403, parley.CodeForbidden, ""},
	}
	hc := env.HTTPClient()
	for _, tc := range cases {
		req, _ := http.NewRequestWithContext(ctx, tc.method, env.URL+tc.path, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body parley.ErrorBody
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || body.Error.Code != tc.code || (tc.field != "" && body.Error.Field != tc.field) {
			t.Errorf("%s: %d %+v, want %d %s field %q", tc.name, resp.StatusCode, body.Error, tc.status, tc.code, tc.field)
		}
	}
	// Nothing was turned on or made by any of it.
	if st, err := alice.TwoFactorStatus(ctx); err != nil || st.Enabled || st.Pending {
		t.Fatalf("status after bad input = %+v, %v", st, err)
	}
	if list, err := alice.AppPasswords(ctx); err != nil || len(list) != 0 {
		t.Fatalf("app passwords after bad input = %+v, %v", list, err)
	}
	// A flood: the 21st app password is refused.
	for i := range parley.AppPasswordsPerUser {
		if _, _, err := alice.CreateAppPassword(ctx, fmt.Sprint("app ", i), apitest.Password); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := alice.CreateAppPassword(ctx, "one too many", apitest.Password); !parley.IsCode(err, parley.CodeConflict) {
		t.Fatalf("app password beyond the cap: %v", err)
	}
	admin, _ := env.NewAdmin(t, "root")
	if _, err := admin.ResetTwoFactor(ctx, parley.NewID()); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("reset of an unknown user: %v", err)
	}
	if _, err := admin.ResetTwoFactor(ctx, "not-an-id"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("reset of a malformed id: %v", err)
	}
}
