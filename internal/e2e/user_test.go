package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

// acctRaw sends a raw request through the validating HTTP client and returns
// the status, the headers and the decoded error body (if any).
func acctRaw(t *testing.T, env *apitest.Env, method, path, token, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if e, ok := out["error"].(map[string]any); ok {
		return resp.StatusCode, resp.Header, e
	}
	return resp.StatusCode, resp.Header, out
}

func acctWantCode(t *testing.T, what string, err error, code parley.Code) *parley.Error {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	return parley.AsError(err)
}

func TestAccountLifecycle(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	laptop := env.Client(client.WithUserAgent("Laptop/1.0"))
	res, err := laptop.Register(ctx, client.RegisterRequest{Username: "Alice", Password: "alice-password",
		DisplayName: "Alice A.", Email: "alice@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if res.User.Username != "alice" || res.User.DisplayName != "Alice A." || res.User.Email != "alice@example.org" ||
		res.User.Settings.Theme != "system" || res.User.Role != parley.UserRoleUser || len(res.Token) != 43 {
		t.Fatalf("register = %+v", res)
	}
	me, err := laptop.Me(ctx)
	if err != nil || me.ID != res.User.ID || me.Email != "alice@example.org" {
		t.Fatalf("me = %+v, %v", me, err)
	}

	me, err = laptop.UpdateMe(ctx, client.ProfileUpdate{StatusText: client.String("lunch"),
		Settings: &client.SettingsEdit{Theme: client.String("dark")}})
	if err != nil || me.StatusText != "lunch" || me.Settings.Theme != "dark" || me.DisplayName != "Alice A." {
		t.Fatalf("update = %+v, %v", me, err)
	}

	phone := env.Client(client.WithUserAgent("Phone/2.0"))
	if _, err := phone.Login(ctx, "ALICE", "alice-password"); err != nil {
		t.Fatal(err)
	}
	list, err := laptop.Sessions(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	if list[0].UserAgent != "Phone/2.0" || list[0].Current || list[1].UserAgent != "Laptop/1.0" || !list[1].Current ||
		list[1].Address != "127.0.0.1" || list[1].LastSeenAt.IsZero() || !list[1].ExpiresAt.After(list[1].CreatedAt) {
		t.Fatalf("sessions = %+v", list)
	}

	// Revoke the phone from the laptop.
	if err := laptop.RevokeSession(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = phone.Me(ctx)
	acctWantCode(t, "revoked phone", err, parley.CodeUnauthenticated)

	// A new phone session, then a password change ends it but not the laptop.
	if _, err := phone.Login(ctx, "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	err = laptop.ChangePassword(ctx, "not-the-password", "new-alice-password")
	if pe := acctWantCode(t, "wrong current", err, parley.CodeInvalid); pe.Field != "current_password" {
		t.Fatalf("field %q", pe.Field)
	}
	if err := laptop.ChangePassword(ctx, "alice-password", "new-alice-password"); err != nil {
		t.Fatal(err)
	}
	_, err = phone.Me(ctx)
	acctWantCode(t, "phone after password change", err, parley.CodeUnauthenticated)
	if _, err := laptop.Me(ctx); err != nil {
		t.Fatalf("laptop after password change: %v", err)
	}
	_, err = phone.Login(ctx, "alice", "alice-password")
	acctWantCode(t, "old password", err, parley.CodeUnauthenticated)

	// Logout revokes the presented token.
	tok := laptop.Token()
	if err := laptop.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	laptop.SetToken(tok)
	_, err = laptop.Me(ctx)
	acctWantCode(t, "after logout", err, parley.CodeUnauthenticated)
}

func TestAccountsRefuseBadInputAndKeepStoredData(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.MaxBodyBytes = 4096 })
	ctx := context.Background()
	alice, u := env.NewUser(t, "alice")
	tok := alice.Token()
	const js = "application/json"
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, field                     string
	}{
		{"wrong type", "POST", "/api/v1/auth/register", js, `{"username":7,"password":"password-1"}`, 400, "invalid", "username"},
		{"unknown field", "POST", "/api/v1/auth/register", js, `{"username":"bob","password":"password-1","role":"admin"}`, 400, "invalid", "role"},
		{"missing username", "POST", "/api/v1/auth/register", js, `{"password":"password-1"}`, 400, "invalid", "username"},
		{"missing password", "POST", "/api/v1/auth/register", js, `{"username":"bob"}`, 400, "invalid", "password"},
		{"null password", "POST", "/api/v1/auth/register", js, `{"username":"bob","password":null}`, 400, "invalid", "password"},
		{"look-alike", "POST", "/api/v1/auth/register", js, `{"username":"\u0430lice","password":"password-1"}`, 400, "invalid", "username"},
		{"long username", "POST", "/api/v1/auth/register", js, `{"username":"` + strings.Repeat("b", 33) + `","password":"password-1"}`, 413, "too_large", "username"},
		{"long password", "POST", "/api/v1/auth/register", js, `{"username":"bob","password":"` + strings.Repeat("p", 257) + `"}`, 413, "too_large", "password"},
		{"oversized body", "POST", "/api/v1/auth/register", js, `{"username":"bob","password":"` + strings.Repeat("p", 5000) + `"}`, 413, "too_large", ""},
		{"malformed", "POST", "/api/v1/auth/register", js, `{"username":"bob",`, 400, "invalid", ""},
		{"empty", "POST", "/api/v1/auth/register", js, ``, 400, "invalid", ""},
		{"two values", "POST", "/api/v1/auth/register", js, `{} {}`, 400, "invalid", ""},
		{"array", "POST", "/api/v1/auth/register", js, `[]`, 400, "invalid", ""},
		{"text/plain", "POST", "/api/v1/auth/register", "text/plain", `{"username":"bob","password":"password-1"}`, 415, "unsupported_type", ""},
		{"duplicate", "POST", "/api/v1/auth/register", js, `{"username":"ALICE","password":"password-2"}`, 409, "conflict", "username"},
		{"login wrong type", "POST", "/api/v1/auth/login", js, `{"username":"alice","password":12345678}`, 400, "invalid", "password"},
		{"login unknown field", "POST", "/api/v1/auth/login", js, `{"username":"alice","password":"x","otp":1}`, 400, "invalid", "otp"},
		{"patch wrong type", "PATCH", "/api/v1/me", js, `{"display_name":5}`, 400, "invalid", "display_name"},
		{"patch theme", "PATCH", "/api/v1/me", js, `{"settings":{"theme":"purple"}}`, 400, "invalid", "settings.theme"},
		{"patch unknown setting", "PATCH", "/api/v1/me", js, `{"settings":{"font":"x"}}`, 400, "invalid", "font"},
		{"patch unknown field", "PATCH", "/api/v1/me", js, `{"username":"mallory"}`, 400, "invalid", "username"},
		{"patch long status", "PATCH", "/api/v1/me", js, `{"status_text":"` + strings.Repeat("s", 141) + `"}`, 413, "too_large", "status_text"},
		{"patch control char", "PATCH", "/api/v1/me", js, `{"display_name":"a\u0000b"}`, 400, "invalid", "display_name"},
		{"patch bad email", "PATCH", "/api/v1/me", js, `{"email":"not an email"}`, 400, "invalid", "email"},
		{"patch oversized", "PATCH", "/api/v1/me", js, `{"status_text":"` + strings.Repeat("s", 5000) + `"}`, 413, "too_large", ""},
		{"password short", "POST", "/api/v1/me/password", js, `{"current_password":"x","new_password":"short"}`, 400, "invalid", "new_password"},
		{"password wrong type", "POST", "/api/v1/me/password", js, `{"current_password":true,"new_password":"long-enough"}`, 400, "invalid", "current_password"},
		{"session of nobody", "DELETE", "/api/v1/me/sessions/" + parley.NewID(), "", ``, 404, "not_found", ""},
		{"session junk id", "DELETE", "/api/v1/me/sessions/not-a-session-id", "", ``, 404, "not_found", ""},
		{"user junk id", "GET", "/api/v1/users/nope", "", ``, 400, "invalid", "id"},
		{"user unknown id", "GET", "/api/v1/users/" + parley.NewID(), "", ``, 404, "not_found", ""},
		{"limit too big", "GET", "/api/v1/users?limit=101", "", ``, 400, "invalid", "limit"},
		{"limit zero", "GET", "/api/v1/users?limit=0", "", ``, 400, "invalid", "limit"},
		{"limit not a number", "GET", "/api/v1/users?limit=ten", "", ``, 400, "invalid", "limit"},
		{"prefix junk", "GET", "/api/v1/users?prefix=%3Cscript%3E", "", ``, 400, "invalid", "prefix"},
		{"non-admin disables", "POST", "/api/v1/admin/users/" + u.ID + "/disable", "", ``, 403, "forbidden", ""},
		{"non-admin enables", "POST", "/api/v1/admin/users/" + u.ID + "/enable", "", ``, 403, "forbidden", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, e := acctRaw(t, env, c.method, c.path, tok, c.ctype, c.body)
			if status != c.status || e["code"] != c.code || (e["field"] != nil && e["field"] != c.field) || (e["field"] == nil && c.field != "") {
				t.Fatalf("%s %s %.60s: %d %v; want %d %s field %q", c.method, c.path, c.body, status, e, c.status, c.code, c.field)
			}
		})
	}
	// Nothing stored was lost or changed.
	me, err := alice.Me(ctx)
	if err != nil || me.Username != "alice" || me.DisplayName != "alice" || me.Role != parley.UserRoleUser ||
		me.Settings.Theme != "system" || me.StatusText != "" || !me.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("after bad requests: %+v, %v", me, err)
	}
	if _, err := env.Client().Login(ctx, "alice", apitest.Password); err != nil {
		t.Fatalf("alice's password changed: %v", err)
	}
	if page, err := alice.SearchUsers(ctx, "", "", 100); err != nil || len(page.Users) != 1 {
		t.Fatalf("users after bad registrations: %+v, %v", page, err)
	}
}

func TestSignInDoesNotRevealAccountsAndIsRateLimited(t *testing.T) {
	env := apitest.Start(t, nil)
	env.NewUser(t, "bob")
	body := func(user string) string { return `{"username":"` + user + `","password":"wrong-password"}` }
	s1, _, wrong := acctRaw(t, env, "POST", "/api/v1/auth/login", "", "application/json", body("bob"))
	s2, _, unknown := acctRaw(t, env, "POST", "/api/v1/auth/login", "", "application/json", body("nobody"))
	if s1 != 401 || s2 != 401 || wrong["code"] != "unauthenticated" || wrong["message"] != unknown["message"] || wrong["code"] != unknown["code"] {
		t.Fatalf("wrong password %d %v vs unknown user %d %v", s1, wrong, s2, unknown)
	}
	// The default limit is 10 failures per account per 15 minutes.
	for i := 1; i < 10; i++ {
		if s, _, e := acctRaw(t, env, "POST", "/api/v1/auth/login", "", "application/json", body("bob")); s != 401 {
			t.Fatalf("failure %d: %d %v", i+1, s, e)
		}
	}
	s, h, e := acctRaw(t, env, "POST", "/api/v1/auth/login", "", "application/json",
		`{"username":"bob","password":"`+apitest.Password+`"}`)
	if s != 429 || e["code"] != "rate_limited" || h.Get("Retry-After") == "" || e["retry_after"] == nil {
		t.Fatalf("after 10 failures: %d %v Retry-After %q", s, e, h.Get("Retry-After"))
	}
	_, err := env.Client().Login(context.Background(), "bob", apitest.Password)
	if pe := acctWantCode(t, "sdk", err, parley.CodeRateLimited); pe.RetryAfter <= 0 {
		t.Fatalf("SDK RetryAfter = %v", pe.RetryAfter)
	}
}

func TestEndpointsNeedAValidToken(t *testing.T) {
	env := apitest.Start(t, nil)
	c, _ := env.NewUser(t, "carol")
	paths := [][2]string{{"POST", "/api/v1/auth/logout"}, {"GET", "/api/v1/me"}, {"PATCH", "/api/v1/me"},
		{"POST", "/api/v1/me/password"}, {"GET", "/api/v1/me/sessions"}, {"DELETE", "/api/v1/me/sessions/" + parley.NewID()},
		{"GET", "/api/v1/users"}, {"GET", "/api/v1/users/" + parley.NewID()},
		{"POST", "/api/v1/admin/users/" + parley.NewID() + "/disable"}, {"POST", "/api/v1/admin/users/" + parley.NewID() + "/enable"}}
	for _, tok := range []string{"", "not-a-token", strings.Repeat("A", 43), c.Token() + "x"} {
		for _, p := range paths {
			s, h, e := acctRaw(t, env, p[0], p[1], tok, "application/json", `{}`)
			if s != 401 || e["code"] != "unauthenticated" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s with token %q: %d %v", p[0], p[1], tok, s, e)
			}
		}
	}
}

func TestSomeoneElsesSessionIsNotFound(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	dave, _ := env.NewUser(t, "dave")
	erin, _ := env.NewUser(t, "erin")
	theirs, err := erin.Sessions(ctx)
	if err != nil || len(theirs) != 1 {
		t.Fatal(theirs, err)
	}
	acctWantCode(t, "revoke erin's session as dave", dave.RevokeSession(ctx, theirs[0].ID), parley.CodeNotFound)
	if _, err := erin.Me(ctx); err != nil {
		t.Fatalf("erin's session was affected: %v", err)
	}
}

func TestUserSearchAndLookup(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	var c *client.Client
	for _, n := range []string{"kim", "kira", "kirk", "kit", "lee"} {
		c, _ = env.NewUser(t, n)
	}
	var seen []string
	after := ""
	for range 10 {
		page, err := c.SearchUsers(ctx, "@KI", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			seen = append(seen, u.Username)
			if u.Email != "" {
				t.Fatalf("email leaked: %+v", u)
			}
		}
		if after = page.NextAfter; after == "" {
			break
		}
	}
	if !slices.Equal(seen, []string{"kim", "kira", "kirk", "kit"}) {
		t.Fatalf("paged search = %v", seen)
	}
	page, err := c.SearchUsers(ctx, "", "", 0)
	if err != nil || len(page.Users) != 5 || page.NextAfter != "" {
		t.Fatalf("all = %+v, %v", page, err)
	}
	u, err := c.User(ctx, page.Users[0].ID)
	if err != nil || u.Username != "kim" {
		t.Fatalf("user = %+v, %v", u, err)
	}
}

func TestAdminDisablesAndEnables(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	events := make(chan parley.Event, 16)
	unsub, err := env.Server.Bus.Subscribe(func(e parley.Event) {
		if e.Kind == parley.EventSessionRevoked {
			events <- e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	admin, root := env.NewAdmin(t, "root")
	frank, fu := env.NewUser(t, "frank")

	got, err := admin.DisableUser(ctx, fu.ID)
	if err != nil || !got.Disabled {
		t.Fatalf("disable = %+v, %v", got, err)
	}
	select {
	case e := <-events:
		if !slices.Equal(e.UserIDs, []string{fu.ID}) {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no session_revoked event")
	}
	_, err = frank.Me(ctx)
	acctWantCode(t, "disabled user's session", err, parley.CodeUnauthenticated)
	_, err = env.Client().Login(ctx, "frank", apitest.Password)
	acctWantCode(t, "disabled user signs in", err, parley.CodeForbidden)
	if u, err := admin.User(ctx, fu.ID); err != nil || !u.Disabled {
		t.Fatalf("admin sees %+v, %v", u, err)
	}

	_, err = admin.DisableUser(ctx, root.ID)
	acctWantCode(t, "disable self", err, parley.CodeConflict)
	_, err = admin.DisableUser(ctx, parley.NewID())
	acctWantCode(t, "disable unknown", err, parley.CodeNotFound)

	if got, err := admin.EnableUser(ctx, fu.ID); err != nil || got.Disabled {
		t.Fatalf("enable = %+v, %v", got, err)
	}
	if _, err := frank.Login(ctx, "frank", apitest.Password); err != nil {
		t.Fatalf("login after enable: %v", err)
	}
}

func TestLogoutPublishesSessionRevoked(t *testing.T) {
	env := apitest.Start(t, nil)
	events := make(chan parley.Event, 16)
	unsub, _ := env.Server.Bus.Subscribe(func(e parley.Event) { events <- e })
	defer unsub()
	c, _ := env.NewUser(t, "gina")
	list, _ := c.Sessions(context.Background())
	if err := c.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	for timeout := time.After(10 * time.Second); ; {
		select {
		case e := <-events:
			if e.Kind == parley.EventAuthChanged { // for the nodes' kept sessions (docs/accounts.md)
				continue
			}
			if e.Kind != parley.EventSessionRevoked || !slices.Equal(e.SessionIDs, []string{list[0].ID}) || len(e.UserIDs) != 0 {
				t.Fatalf("event %+v", e)
			}
			return
		case <-timeout:
			t.Fatal("no event")
		}
	}
}

// BenchmarkLogin measures sign-ins per second with the production argon2id
// parameters (one hash each, plus a session insert).
func BenchmarkLogin(b *testing.B) {
	env := apitest.Start(b, productionHashing)
	env.NewUser(b, "bench")
	c := client.New(env.URL)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Login(ctx, "bench", apitest.Password); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMeDuringLoginFlood measures GET /api/v1/me latency while 32
// clients sign in as fast as they can: bounded hashing should leave the
// rest of the server responsive. Reports p50/p99 of /me and logins/s.
func BenchmarkMeDuringLoginFlood(b *testing.B) {
	env := apitest.Start(b, productionHashing)
	me, _ := env.NewUser(b, "reader")
	env.NewUser(b, "flooder")
	ctx, cancel := context.WithCancel(context.Background())
	var logins, refused atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client.New(env.URL)
			for ctx.Err() == nil {
				if _, err := c.Login(ctx, "flooder", apitest.Password); err == nil {
					logins.Add(1)
				} else if parley.IsCode(err, parley.CodeRateLimited) {
					refused.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	plain := client.New(env.URL, client.WithToken(me.Token()))
	var lat []time.Duration
	start := time.Now()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := plain.Me(context.Background()); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(logins.Load())/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(refused.Load())/elapsed.Seconds(), "refused/s")
}

// productionHashing undoes apitest's fast test parameters for benchmarks
// whose subject is sign-in cost.
func productionHashing(c *server.Config) { c.PasswordParams = app.DefaultPasswordParams() }
