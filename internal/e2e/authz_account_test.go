package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
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

// The authorization matrix of the bot endpoints and of what a bot's token
// reaches: the bot's owner, another person, an admin, nobody, and the bot
// itself with a token holding every scope. Each row gets a fresh bot.
func TestAuthorizationMatrixBots(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	const (
		ownerRole = iota
		otherRole
		adminRole
		anonRole
		botRole
		roles
	)
	names := [roles]string{"owner", "other person", "admin", "anonymous", "bot token"}
	owner, _ := env.NewUser(t, "botmatrixowner")
	otherC, _ := env.NewUser(t, "botmatrixother")
	adminC, _ := env.NewAdmin(t, "botmatrixadmin")
	conv, _, err := owner.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "matrix"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	type world struct{ bot, tokenID, secret, hookID, outHookID string }
	fresh := func() world {
		n++
		b, err := owner.CreateBot(ctx, fmt.Sprint("mbot", n), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owner.AddMembers(ctx, conv.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		tk, secret, err := owner.CreateAPIToken(ctx, b.ID, "all", parley.Scopes...)
		if err != nil {
			t.Fatal(err)
		}
		hook, _, err := owner.CreateIncomingWebhook(ctx, b.ID, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := owner.CreateOutgoingWebhook(ctx, b.ID, "https://example.org/hook")
		if err != nil {
			t.Fatal(err)
		}
		return world{bot: b.ID, tokenID: tk.ID, secret: secret, hookID: hook.ID, outHookID: out.ID}
	}
	type row struct {
		name, method string
		path         func(w world) string
		body         string
		want         [roles]int
	}
	p := func(s string) func(world) string { return func(world) string { return s } }
	rows := []row{
		{"list bots", "GET", p("/api/v1/bots"), "", [roles]int{200, 200, 200, 401, 403}},
		{"create bot", "POST", p("/api/v1/bots"), `{"username":"__NAME__"}`, [roles]int{201, 201, 201, 401, 403}},
		{"list tokens", "GET", func(w world) string { return "/api/v1/bots/" + w.bot + "/tokens" }, "", [roles]int{200, 404, 404, 401, 403}},
		{"create token", "POST", func(w world) string { return "/api/v1/bots/" + w.bot + "/tokens" }, `{"name":"x","scopes":["messages:read"]}`,
			[roles]int{201, 404, 404, 401, 403}},
		{"revoke token", "DELETE", func(w world) string { return "/api/v1/bots/" + w.bot + "/tokens/" + w.tokenID }, "", [roles]int{204, 404, 404, 401, 403}},
		{"list incoming webhooks", "GET", func(w world) string { return "/api/v1/bots/" + w.bot + "/incoming-webhooks" }, "", [roles]int{200, 404, 404, 401, 403}},
		{"create incoming webhook", "POST", func(w world) string { return "/api/v1/bots/" + w.bot + "/incoming-webhooks" },
			`{"conversation_id":"` + conv.ID + `"}`, [roles]int{201, 404, 404, 401, 403}},
		{"delete incoming webhook", "DELETE", func(w world) string { return "/api/v1/bots/" + w.bot + "/incoming-webhooks/" + w.hookID }, "",
			[roles]int{204, 404, 404, 401, 403}},
		{"list outgoing webhooks", "GET", func(w world) string { return "/api/v1/bots/" + w.bot + "/outgoing-webhooks" }, "", [roles]int{200, 404, 404, 401, 403}},
		{"create outgoing webhook", "POST", func(w world) string { return "/api/v1/bots/" + w.bot + "/outgoing-webhooks" },
			`{"url":"https://example.org/hook"}`, [roles]int{201, 404, 404, 401, 403}},
		{"delivery log", "GET", func(w world) string {
			return "/api/v1/bots/" + w.bot + "/outgoing-webhooks/" + w.outHookID + "/deliveries"
		}, "",
			[roles]int{200, 404, 404, 401, 403}},
		{"delete outgoing webhook", "DELETE", func(w world) string { return "/api/v1/bots/" + w.bot + "/outgoing-webhooks/" + w.outHookID }, "",
			[roles]int{204, 404, 404, 401, 403}},
		{"delete bot", "DELETE", func(w world) string { return "/api/v1/bots/" + w.bot }, "", [roles]int{204, 404, 404, 401, 403}},
		// What the bot's token reaches, next to what people get.
		{"me", "GET", p("/api/v1/me"), "", [roles]int{200, 200, 200, 401, 200}},
		{"send in the bot's group", "POST", p("/api/v1/conversations/" + conv.ID + "/messages"), `{"client_msg_id":"__NAME__","body":"hi"}`,
			[roles]int{201, 404, 404, 401, 201}},
		{"history of the bot's group", "GET", p("/api/v1/conversations/" + conv.ID + "/messages"), "", [roles]int{200, 404, 404, 401, 200}},
		{"edit conversation", "PATCH", p("/api/v1/conversations/" + conv.ID), `{"topic":"t"}`, [roles]int{200, 404, 404, 401, 403}},
		{"add member", "POST", p("/api/v1/conversations/" + conv.ID + "/members"), `{"user_ids":[]}`, [roles]int{400, 404, 404, 401, 403}},
		{"sessions", "GET", p("/api/v1/me/sessions"), "", [roles]int{200, 200, 200, 401, 403}},
		{"change password", "POST", p("/api/v1/me/password"), `{"current_password":"x","new_password":"yyyyyyyyyy"}`, [roles]int{400, 400, 400, 401, 403}},
		{"admin overview", "GET", p("/api/v1/admin/overview"), "", [roles]int{403, 403, 200, 401, 403}},
		{"two-factor status", "GET", p("/api/v1/me/2fa"), "", [roles]int{200, 200, 200, 401, 403}},
		{"search", "GET", p("/api/v1/search/messages?q=hi"), "", [roles]int{200, 200, 200, 401, 403}},
	}
	for _, rw := range rows {
		for r := range roles {
			w := fresh()
			token := map[int]string{ownerRole: owner.Token(), otherRole: otherC.Token(), adminRole: adminC.Token(), botRole: w.secret}[r]
			body := strings.ReplaceAll(rw.body, "__NAME__", fmt.Sprint("m", n, "x", r))
			if got := authzCall(t, env, rw.method, rw.path(w), token, body); got != rw.want[r] {
				t.Errorf("%s as %s: status %d, want %d", rw.name, names[r], got, rw.want[r])
			}
			// Stay under the bots-per-person cap.
			for _, c := range []*client.Client{owner, otherC, adminC} {
				bots, _ := c.Bots(ctx)
				for _, b := range bots {
					_ = c.DeleteBot(ctx, b.ID)
				}
			}
		}
	}
}
