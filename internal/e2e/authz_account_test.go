package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
)

// The authorization matrix of the account-level endpoints that act on one
// user (two-factor sign-in): the user themselves, another user, an admin,
// and nobody. Each row runs against a fresh target account that has
// two-factor sign-in on, so one role's call cannot change another's answer.
func TestAuthorizationMatrixTwoFactor(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	const (
		self = iota
		other
		adminRole
		anon
		roles
	)
	names := [roles]string{"self", "other user", "admin", "anonymous"}
	otherC, _ := env.NewUser(t, "someoneelse")
	adminC, _ := env.NewAdmin(t, "matrixadmin")
	n := 0
	appPw := map[string]string{} // target user id → an app password of theirs
	// target makes a fresh account with two-factor sign-in on and returns
	// its id, token and secret.
	target := func() (string, string, string) {
		n++
		c, u := env.NewUser(t, fmt.Sprint("tfa", n))
		en, err := c.BeginTwoFactor(ctx, apitest.Password)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ConfirmTwoFactor(ctx, totpAt(t, en.Secret, time.Now())); err != nil {
			t.Fatal(err)
		}
		p, _, err := c.CreateAppPassword(ctx, "target's", apitest.Password)
		if err != nil {
			t.Fatal(err)
		}
		appPw[u.ID] = p.ID
		return u.ID, c.Token(), en.Secret
	}
	type row struct {
		name, method string
		path         func(id string) string
		body         func(secret string) string
		want         [roles]int
	}
	pw := `"password":"` + apitest.Password + `"`
	nextCode := func(secret string) string {
		c, _ := app.TOTPCode(secret, time.Now().Add(30*time.Second))
		return c
	}
	static := func(s string) func(string) string { return func(string) string { return s } }
	rows := []row{
		{"status", "GET", static("/api/v1/me/2fa"), nil, [roles]int{200, 200, 200, 401}},
		{"confirm", "POST", static("/api/v1/me/2fa/confirm"), static(`{"code":"123456"}`), [roles]int{409, 409, 409, 401}},
		// Setup acts on the caller: the target (on already) 409, others begin their own
		// (after confirm: nothing was pending for them there).
		{"begin setup", "POST", static("/api/v1/me/2fa/setup"), static(`{` + pw + `}`), [roles]int{409, 200, 200, 401}},
		{"disable", "POST", static("/api/v1/me/2fa/disable"), func(s string) string { return `{` + pw + `,"code":"` + nextCode(s) + `"}` },
			[roles]int{204, 409, 409, 401}},
		{"recovery codes", "POST", static("/api/v1/me/2fa/recovery-codes"), func(s string) string { return `{` + pw + `,"code":"` + nextCode(s) + `"}` },
			[roles]int{200, 409, 409, 401}},
		{"list app passwords", "GET", static("/api/v1/me/app-passwords"), nil, [roles]int{200, 200, 200, 401}},
		{"create app password", "POST", static("/api/v1/me/app-passwords"), static(`{"name":"matrix",` + pw + `}`), [roles]int{201, 201, 201, 401}},
		{"revoke the target's app password", "DELETE", func(id string) string { return "/api/v1/me/app-passwords/" + appPw[id] }, nil,
			[roles]int{204, 404, 404, 401}},
		{"admin reset", "POST", func(id string) string { return "/api/v1/admin/users/" + id + "/2fa/reset" }, nil,
			[roles]int{403, 403, 200, 401}},
		{"admin reset, unknown user", "POST", func(string) string { return "/api/v1/admin/users/" + parley.NewID() + "/2fa/reset" }, nil,
			[roles]int{403, 403, 404, 401}},
	}
	for _, rw := range rows {
		for r := range roles {
			id, tok, secret := target()
			token := map[int]string{self: tok, other: otherC.Token(), adminRole: adminC.Token()}[r]
			body := ""
			if rw.body != nil {
				body = rw.body(secret)
			}
			if got := authzCall(t, env, rw.method, rw.path(id), token, body); got != rw.want[r] {
				t.Errorf("%s as %s: status %d, want %d", rw.name, names[r], got, rw.want[r])
			}
		}
	}
}
