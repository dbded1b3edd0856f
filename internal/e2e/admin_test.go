package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// adminCall sends one JSON request (validated against the OpenAPI document)
// and returns the status, the decoded body and the response.
func adminCall(t *testing.T, e *apitest.Env, method, path, token, body string) (int, map[string]any, *http.Response) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if len(b) > 0 {
		_ = json.Unmarshal(b, &m)
	}
	return res.StatusCode, m, res
}

func adminErrCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestAdminEndpointsAuthorization(t *testing.T) {
	e := apitest.Start(t, nil)
	adminC, root := e.NewAdmin(t, "root")
	userC, bob := e.NewUser(t, "bob")
	id := bob.ID
	endpoints := []struct{ method, path, body string }{
		{"GET", "/api/v1/admin/overview", ""},
		{"GET", "/api/v1/admin/users", ""},
		{"POST", "/api/v1/admin/users", `{"username":"eve","password":"long enough pw","role":"admin"}`},
		{"GET", "/api/v1/admin/users/" + root.ID, ""},
		{"DELETE", "/api/v1/admin/users/" + root.ID, ""},
		{"GET", "/api/v1/admin/users/" + root.ID + "/sessions", ""},
		{"POST", "/api/v1/admin/users/" + root.ID + "/password", `{"password":"taken over!!"}`},
		{"POST", "/api/v1/admin/users/" + id + "/role", `{"role":"admin"}`},
		{"POST", "/api/v1/admin/users/" + root.ID + "/disable", ""},
		{"POST", "/api/v1/admin/users/" + root.ID + "/enable", ""},
		{"GET", "/api/v1/admin/invites", ""},
		{"POST", "/api/v1/admin/invites", `{}`},
		{"POST", "/api/v1/admin/invites/" + parley.NewID() + "/revoke", ""},
		{"GET", "/api/v1/admin/audit", ""},
		{"GET", "/api/v1/admin/content-rules", ""},
		{"PUT", "/api/v1/admin/content-rules", `{"deny_words":["x"]}`},
	}
	for _, ep := range endpoints {
		if st, m, _ := adminCall(t, e, ep.method, ep.path, userC.Token(), ep.body); st != 403 || adminErrCode(m) != "forbidden" {
			t.Errorf("%s %s as a user: %d %v, want 403 forbidden", ep.method, ep.path, st, m)
		}
		if st, _, _ := adminCall(t, e, ep.method, ep.path, "", ep.body); st != 401 {
			t.Errorf("%s %s anonymous: %d, want 401", ep.method, ep.path, st)
		}
	}
	// Nothing changed.
	st, m, _ := adminCall(t, e, "GET", "/api/v1/admin/users/"+id, adminC.Token(), "")
	if st != 200 || m["role"] != "user" {
		t.Fatalf("bob after the attempts: %d %v", st, m)
	}
	// Only the creation of root is audited.
	if st, m, _ := adminCall(t, e, "GET", "/api/v1/admin/audit", adminC.Token(), ""); st != 200 || len(m["entries"].([]any)) != 1 {
		t.Fatalf("audit after refused attempts: %d %v", st, m)
	}
}

func TestAdminEndpointsWork(t *testing.T) {
	e := apitest.Start(t, func(c *server.Config) { c.Registration = "invite" })
	adminC, root := e.NewAdmin(t, "root")
	tok := adminC.Token()

	st, m, _ := adminCall(t, e, "POST", "/api/v1/auth/register", "", `{"username":"alice","password":"long enough pw"}`)
	if st != 403 || adminErrCode(m) != "forbidden" {
		t.Fatalf("register without invite: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "POST", "/api/v1/admin/invites", tok, `{"max_uses":2,"expires_in_seconds":3600,"note":"friends"}`)
	if st != 201 || m["max_uses"].(float64) != 2 || m["expires_at"] == nil {
		t.Fatalf("create invite: %d %v", st, m)
	}
	code, inviteID := m["code"].(string), m["id"].(string)
	st, m, _ = adminCall(t, e, "POST", "/api/v1/auth/register", "", `{"username":"alice","password":"long enough pw","invite":"`+code+`"}`)
	if st != 201 {
		t.Fatalf("register with invite: %d %v", st, m)
	}
	alice := m["user"].(map[string]any)["id"].(string)
	aliceTok := m["token"].(string)

	for _, bad := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/v1/admin/invites", `{"max_uses":"two"}`, 400},
		{"POST", "/api/v1/admin/invites", `{"max_uses":10001}`, 400},
		{"POST", "/api/v1/admin/invites", `{"expires_in_seconds":-1}`, 400},
		{"POST", "/api/v1/admin/invites", `{"note":"` + strings.Repeat("n", 201) + `"}`, 413},
		{"POST", "/api/v1/admin/invites", `{"surprise":1}`, 400},
		{"POST", "/api/v1/admin/invites/nope/revoke", "", 404},
		{"GET", "/api/v1/admin/users/" + parley.NewID(), "", 404},
		{"GET", "/api/v1/admin/users/" + strings.Repeat("x", 300), "", 404},
		{"POST", "/api/v1/admin/users/" + alice + "/role", `{"role":"god"}`, 400},
		{"POST", "/api/v1/admin/users/" + root.ID + "/role", `{"role":"user"}`, 409},
		{"DELETE", "/api/v1/admin/users/" + root.ID, "", 409},
		{"POST", "/api/v1/admin/users/" + alice + "/password", `{"password":"` + strings.Repeat("p", 257) + `"}`, 413},
		{"POST", "/api/v1/admin/users/" + alice + "/password", `{"password":"short"}`, 400},
		{"GET", "/api/v1/admin/users?limit=1000", "", 400},
		{"GET", "/api/v1/admin/users?prefix=" + strings.Repeat("a", 40), "", 400},
		{"GET", "/api/v1/admin/audit?limit=0", "", 400},
		{"GET", "/api/v1/admin/audit?before=zzz", "", 400},
		{"POST", "/api/v1/admin/users", `{"username":"root","password":"long enough pw"}`, 409},
	} {
		if st, m, _ := adminCall(t, e, bad.method, bad.path, tok, bad.body); st != bad.status {
			t.Errorf("%s %s %s: %d %v, want %d", bad.method, bad.path, bad.body, st, m, bad.status)
		}
	}

	st, m, _ = adminCall(t, e, "GET", "/api/v1/admin/users?prefix=al", tok, "")
	if st != 200 || len(m["users"].([]any)) != 1 {
		t.Fatalf("list users: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "GET", "/api/v1/admin/users/"+alice+"/sessions", tok, "")
	if st != 200 || len(m["sessions"].([]any)) != 1 {
		t.Fatalf("sessions: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "POST", "/api/v1/admin/users/"+alice+"/password", tok, `{}`)
	if st != 200 || len(m["password"].(string)) < 8 {
		t.Fatalf("reset password: %d %v", st, m)
	}
	if st, _, _ := adminCall(t, e, "GET", "/api/v1/me", aliceTok, ""); st != 401 {
		t.Fatalf("alice's old token after reset: %d, want 401", st)
	}
	if st, m, _ := adminCall(t, e, "POST", "/api/v1/admin/users/"+alice+"/role", tok, `{"role":"admin"}`); st != 200 || m["role"] != "admin" {
		t.Fatalf("promote: %d %v", st, m)
	}
	if st, m, _ := adminCall(t, e, "POST", "/api/v1/admin/invites/"+inviteID+"/revoke", tok, ""); st != 200 || m["revoked_at"] == nil {
		t.Fatalf("revoke: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "POST", "/api/v1/auth/register", "", `{"username":"carl","password":"long enough pw","invite":"`+code+`"}`)
	if st != 403 {
		t.Fatalf("register with revoked invite: %d %v", st, m)
	}
	if st, m, _ := adminCall(t, e, "DELETE", "/api/v1/admin/users/"+alice, tok, ""); st != 204 {
		t.Fatalf("delete: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "GET", "/api/v1/users/"+alice, tok, "")
	if st != 200 || m["display_name"] != parley.DeletedDisplayName {
		t.Fatalf("deleted user as others see it: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "GET", "/api/v1/admin/overview", tok, "")
	counts, _ := m["counts"].(map[string]any)
	if st != 200 || counts["users"].(float64) != 1 || m["registration"] != "invite" || m["data_dir_bytes"].(float64) <= 0 {
		t.Fatalf("overview: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "GET", "/api/v1/admin/audit?limit=3", tok, "")
	entries, _ := m["entries"].([]any)
	if st != 200 || len(entries) != 3 || m["next_before"] == nil ||
		entries[0].(map[string]any)["action"] != "user.delete" || entries[0].(map[string]any)["actor"] != "root" {
		t.Fatalf("audit: %d %v", st, m)
	}
	st, m, _ = adminCall(t, e, "GET", "/api/v1/admin/audit?before="+m["next_before"].(string), tok, "")
	if st != 200 || len(m["entries"].([]any)) != 3 {
		t.Fatalf("audit page 2: %d %v", st, m)
	}
}

func TestRegistrationClosedAndSignupLimitREST(t *testing.T) {
	e := apitest.Start(t, func(c *server.Config) { c.Registration = "closed" })
	st, m, _ := adminCall(t, e, "POST", "/api/v1/auth/register", "", `{"username":"alice","password":"long enough pw"}`)
	if st != 403 || adminErrCode(m) != "forbidden" || !strings.Contains(m["error"].(map[string]any)["message"].(string), "closed") {
		t.Fatalf("closed: %d %v", st, m)
	}
	e2 := apitest.Start(t, func(c *server.Config) { c.SignupsPerHour = 2 })
	for i, name := range []string{"ann", "ben"} {
		if st, m, _ := adminCall(t, e2, "POST", "/api/v1/auth/register", "", `{"username":"`+name+`","password":"long enough pw"}`); st != 201 {
			t.Fatalf("sign-up %d: %d %v", i, st, m)
		}
	}
	st, m, res := adminCall(t, e2, "POST", "/api/v1/auth/register", "", `{"username":"cat","password":"long enough pw"}`)
	if st != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("3rd sign-up: %d %v Retry-After %q", st, m, res.Header.Get("Retry-After"))
	}
}

// The SDK's admin methods against a real server.
func TestAdminSDK(t *testing.T) {
	e := apitest.Start(t, nil)
	ctx := context.Background()
	adminC, _ := e.NewAdmin(t, "root")
	userC, bob := e.NewUser(t, "bob")
	if _, err := userC.Overview(ctx); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("Overview as a user: %v", err)
	}
	o, err := adminC.Overview(ctx)
	if err != nil || o.Counts.Users != 2 || o.Registration != parley.RegistrationOpen || o.Version == "" {
		t.Fatalf("Overview = %+v, %v", o, err)
	}
	users, next, err := adminC.AdminUsers(ctx, "", "", 1)
	if err != nil || len(users) != 1 || users[0].Username != "bob" || next != "bob" {
		t.Fatalf("AdminUsers page 1 = %v %q %v", users, next, err)
	}
	if ss, err := adminC.UserSessions(ctx, bob.ID); err != nil || len(ss) != 1 {
		t.Fatalf("UserSessions = %v, %v", ss, err)
	}
	if _, err := adminC.ResetPassword(ctx, bob.ID, "a brand new one"); err != nil {
		t.Fatal(err)
	}
	if _, err := userC.Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("bob's token after reset: %v", err)
	}
	if u, err := adminC.SetRole(ctx, bob.ID, parley.UserRoleAdmin); err != nil || u.Role != parley.UserRoleAdmin {
		t.Fatalf("SetRole = %+v, %v", u, err)
	}
	inv, err := adminC.CreateInvite(ctx, client.CreateInviteRequest{MaxUses: 1, ExpiresIn: time.Hour, Note: "x"})
	if err != nil || inv.ExpiresAt == nil {
		t.Fatalf("CreateInvite = %+v, %v", inv, err)
	}
	if _, err := e.Client().Register(ctx, client.RegisterRequest{Username: "carol", Password: "long enough pw", Invite: inv.Code}); err != nil {
		t.Fatalf("register with invite: %v", err)
	}
	if list, err := adminC.Invites(ctx); err != nil || len(list) != 1 || list[0].Uses != 1 {
		t.Fatalf("Invites = %+v, %v", list, err)
	}
	if _, err := adminC.RevokeInvite(ctx, inv.ID); err != nil {
		t.Fatal(err)
	}
	c, err := adminC.AdminCreateUser(ctx, client.AdminCreateUserRequest{Username: "dave", Password: "long enough pw"})
	if err != nil || c.Role != parley.UserRoleUser {
		t.Fatalf("AdminCreateUser = %+v, %v", c, err)
	}
	if err := adminC.DeleteUser(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	entries, _, err := adminC.Audit(ctx, bob.ID, "", 10)
	if err != nil || len(entries) != 2 || entries[0].Action != "user.promote" {
		t.Fatalf("Audit(bob) = %+v, %v", entries, err)
	}
}
