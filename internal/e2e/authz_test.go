package e2e_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// The roles of the authorization matrix.
const (
	owner = iota
	admin
	member
	nonMember
	removed
	anonymous
	numRoles
)

var roleNames = [numRoles]string{"owner", "admin", "member", "non-member", "removed", "anonymous"}

// authzWorld is one fresh conversation with a user in every role, a message
// by the member at seq msgSeq (with a 👍 from the member) and an extra plain
// member (target) for membership operations.
type authzWorld struct {
	conv   parley.Conversation
	tokens [numRoles]string
	ids    [numRoles]string
	target string
	fresh  string // a user who is in no conversation
	msgSeq int64
}

type authzUsers struct {
	clients       [numRoles]*client.Client
	users         [numRoles]parley.User
	target, fresh parley.User
}

func newAuthzUsers(t *testing.T, env *apitest.Env) *authzUsers {
	u := &authzUsers{}
	for r := range anonymous {
		u.clients[r], u.users[r] = env.NewUser(t, "authz"+strings.ReplaceAll(roleNames[r], "-", ""))
	}
	_, u.target = env.NewUser(t, "target")
	_, u.fresh = env.NewUser(t, "fresh")
	return u
}

// setup builds a world of the given kind (public/broadcast for channels).
func (u *authzUsers) setup(t *testing.T, env *apitest.Env, n int, kind parley.ConversationKind, public, broadcast bool) authzWorld {
	t.Helper()
	ctx := context.Background()
	target, fresh := u.target, u.fresh
	o := u.clients[owner]
	c, _, err := o.CreateConversation(ctx, client.CreateConversationRequest{Kind: kind, Title: fmt.Sprint("world ", n),
		Public: public, Broadcast: broadcast,
		MemberIDs: []string{u.users[admin].ID, u.users[member].ID, u.users[removed].ID, target.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.UpdateMember(ctx, c.ID, u.users[admin].ID, client.MemberUpdate{Role: client.Role(parley.RoleAdmin)}); err != nil {
		t.Fatal(err)
	}
	sender := u.clients[member]
	if broadcast {
		sender = o
	}
	m, err := sendPatiently(ctx, sender, c.ID, "the message")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.React(ctx, c.ID, m.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.EditMessage(ctx, c.ID, m.Seq, "edited"); err != nil {
		t.Fatal(err)
	}
	if err := o.RemoveMember(ctx, c.ID, u.users[removed].ID); err != nil {
		t.Fatal(err)
	}
	w := authzWorld{conv: c, target: target.ID, fresh: fresh.ID, msgSeq: m.Seq}
	for r := range anonymous {
		w.tokens[r] = u.clients[r].Token()
		w.ids[r] = u.users[r].ID
	}
	return w
}

type authzCase struct {
	name   string
	method string
	path   func(w authzWorld, r int) string
	body   func(w authzWorld, r int) string
	want   [numRoles]int
}

func TestAuthorizationMatrix(t *testing.T) {
	// The matrix builds hundreds of worlds with the same users: a high send
	// rate (--send-rate) instead of waiting out the default 50/s.
	env := apitest.Start(t, func(c *server.Config) { c.SendRate = 1e6 })
	users := newAuthzUsers(t, env)
	conv := func(rest string) func(authzWorld, int) string {
		return func(w authzWorld, _ int) string { return "/api/v1/conversations/" + w.conv.ID + rest }
	}
	msg := func(rest string) func(authzWorld, int) string {
		return func(w authzWorld, _ int) string {
			return fmt.Sprintf("/api/v1/conversations/%s/messages/%d%s", w.conv.ID, w.msgSeq, rest)
		}
	}
	sendBody := func(w authzWorld, r int) string { return `{"client_msg_id":"authz-` + w.conv.ID + `","body":"hi"}` }
	static := func(s string) func(authzWorld, int) string { return func(authzWorld, int) string { return s } }
	targetBody := func(extra string) func(authzWorld, int) string {
		return func(w authzWorld, _ int) string { return `{"user_id":"` + w.target + `"` + extra + `}` }
	}
	const (
		ok, created, noContent = 200, 201, 204
		forbidden, notFound    = 403, 404
		unauth                 = 401
	)
	private := []authzCase{
		{"get conversation", "GET", conv(""), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"update conversation", "PATCH", conv(""), static(`{"topic":"new"}`), [numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"list members", "GET", conv("/members"), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"add member", "POST", conv("/members"), func(w authzWorld, _ int) string { return `{"user_ids":["` + w.fresh + `"]}` },
			[numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"join (add self)", "POST", conv("/members"), func(w authzWorld, r int) string { return `{"user_ids":["` + w.ids[r] + `"]}` },
			[numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"promote member", "PATCH", func(w authzWorld, _ int) string { return "/api/v1/conversations/" + w.conv.ID + "/members/" + w.target },
			static(`{"role":"admin"}`), [numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"own settings", "PATCH", conv("/members/me"), static(`{"muted":true,"pinned":true,"archived":true}`),
			[numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"others' settings", "PATCH", func(w authzWorld, _ int) string { return "/api/v1/conversations/" + w.conv.ID + "/members/" + w.target },
			static(`{"muted":true}`), [numRoles]int{forbidden, forbidden, forbidden, notFound, notFound, unauth}},
		{"remove member", "DELETE", func(w authzWorld, _ int) string { return "/api/v1/conversations/" + w.conv.ID + "/members/" + w.target },
			nil, [numRoles]int{noContent, noContent, forbidden, notFound, notFound, unauth}},
		{"leave", "DELETE", conv("/members/me"), nil, [numRoles]int{noContent, noContent, noContent, notFound, notFound, unauth}},
		{"send", "POST", conv("/messages"), sendBody,
			[numRoles]int{created, created, created, notFound, notFound, unauth}},
		{"history", "GET", conv("/messages"), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"get message", "GET", msg(""), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"edit message", "PATCH", msg(""), static(`{"body":"mine now"}`), [numRoles]int{forbidden, forbidden, ok, notFound, notFound, unauth}},
		{"delete message", "DELETE", msg(""), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"message versions", "GET", msg("/versions"), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"react", "PUT", msg("/reactions/" + url.PathEscape("🎉")), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"unreact", "DELETE", msg("/reactions/" + url.PathEscape("👍")), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"notification setting", "GET", conv("/notifications"), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"set notification setting", "PUT", conv("/notifications"), static(`{"mentions_only":true}`),
			[numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"own notification settings", "GET", static("/api/v1/me/notifications"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"set own notification settings", "PUT", static("/api/v1/me/notifications"), static(`{"level":"mentions"}`),
			[numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"phone status", "GET", static("/api/v1/me/phone"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"email status", "GET", static("/api/v1/me/email"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"push devices", "GET", static("/api/v1/push/devices"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"unknown push device", "DELETE", static("/api/v1/push/devices/" + parley.NewID()), nil,
			[numRoles]int{notFound, notFound, notFound, notFound, notFound, unauth}},
		{"push key", "GET", static("/api/v1/push/vapid-key"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"push subscriptions", "GET", static("/api/v1/push/subscriptions"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"unknown push subscription", "DELETE", static("/api/v1/push/subscriptions/" + parley.NewID()), nil,
			[numRoles]int{notFound, notFound, notFound, notFound, notFound, unauth}},
		{"list conversations", "GET", static("/api/v1/conversations"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"browse channels", "GET", static("/api/v1/channels?q=world"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"ice servers for calls", "GET", static("/api/v1/calls/ice-servers"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"create group", "POST", static("/api/v1/conversations"), static(`{"kind":"group","title":"mine"}`),
			[numRoles]int{created, created, created, created, created, unauth}},
		{"get retention", "GET", conv("/retention"), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"set retention", "PUT", conv("/retention"), static(`{"days":30}`), [numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"legal hold (server admins only)", "PUT", func(w authzWorld, _ int) string { return "/api/v1/admin/conversations/" + w.conv.ID + "/legal-hold" },
			static(`{"hold":true}`), [numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		{"slash command (no such bot)", "POST", conv("/commands"), static(`{"command":"nobot"}`),
			[numRoles]int{notFound, notFound, notFound, notFound, notFound, unauth}},
		{"unknown conversation", "GET", static("/api/v1/conversations/" + parley.NewID() + "/messages"), nil,
			[numRoles]int{notFound, notFound, notFound, notFound, notFound, unauth}},
		// Moderation (docs/moderation.md).
		{"mute member", "POST", conv("/moderation/mute"), targetBody(`,"duration_seconds":60,"reason":"calm"`),
			[numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"unmute member", "POST", conv("/moderation/unmute"), targetBody(""),
			[numRoles]int{noContent, noContent, forbidden, notFound, notFound, unauth}},
		{"kick member", "POST", conv("/moderation/kick"), targetBody(`,"reason":"out"`),
			[numRoles]int{noContent, noContent, forbidden, notFound, notFound, unauth}},
		{"ban member", "POST", conv("/bans"), targetBody(`,"reason":"spam"`),
			[numRoles]int{created, created, forbidden, notFound, notFound, unauth}},
		{"list bans", "GET", conv("/bans"), nil, [numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"unban (nobody banned)", "DELETE", func(w authzWorld, _ int) string { return "/api/v1/conversations/" + w.conv.ID + "/bans/" + w.target },
			nil, [numRoles]int{notFound, notFound, forbidden, notFound, notFound, unauth}},
		{"get rules", "GET", conv("/rules"), nil, [numRoles]int{ok, ok, ok, notFound, notFound, unauth}},
		{"set rules", "PUT", conv("/rules"), static(`{"slow_mode_seconds":5}`), [numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"server content rules", "GET", static("/api/v1/admin/content-rules"), nil,
			[numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		// Organisations (docs/organisations.md): admins only.
		{"list organisations", "GET", static("/api/v1/admin/orgs"), nil,
			[numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		{"create organisation", "POST", static("/api/v1/admin/orgs"), static(`{"slug":"mine","name":"Mine"}`),
			[numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		{"get organisation", "GET", static("/api/v1/admin/orgs/" + parley.DefaultOrgID), nil,
			[numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		{"change organisation", "PATCH", static("/api/v1/admin/orgs/" + parley.DefaultOrgID), static(`{"require_2fa":true}`),
			[numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		{"report message", "POST", static("/api/v1/reports"), func(w authzWorld, _ int) string {
			return fmt.Sprintf(`{"conversation_id":"%s","seq":%d,"reason":"spam"}`, w.conv.ID, w.msgSeq)
		}, [numRoles]int{created, created, forbidden, notFound, notFound, unauth}},
		{"conversation's reports", "GET", func(w authzWorld, _ int) string { return "/api/v1/reports?conversation_id=" + w.conv.ID }, nil,
			[numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"every report", "GET", static("/api/v1/reports"), nil, [numRoles]int{forbidden, forbidden, forbidden, forbidden, forbidden, unauth}},
		{"my reports", "GET", static("/api/v1/reports/mine"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"resolve unknown report", "POST", static("/api/v1/reports/" + parley.NewID() + "/resolve"), static(`{"action":"dismiss"}`),
			[numRoles]int{notFound, notFound, notFound, notFound, notFound, unauth}},
		{"analytics", "GET", conv("/stats?days=7"), nil, [numRoles]int{ok, ok, forbidden, notFound, notFound, unauth}},
		{"list blocks", "GET", static("/api/v1/blocks"), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"unblock (nobody blocked)", "DELETE", func(w authzWorld, _ int) string { return "/api/v1/blocks/" + w.target }, nil,
			[numRoles]int{notFound, notFound, notFound, notFound, notFound, unauth}},
	}
	// In a public channel, existence is public: non-members see the
	// conversation, get 403 (join first) for members-only operations, and
	// may join.
	public := []authzCase{
		{"get conversation", "GET", conv(""), nil, [numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"history", "GET", conv("/messages"), nil, [numRoles]int{ok, ok, ok, forbidden, forbidden, unauth}},
		{"list members", "GET", conv("/members"), nil, [numRoles]int{ok, ok, ok, forbidden, forbidden, unauth}},
		{"send", "POST", conv("/messages"), sendBody,
			[numRoles]int{created, created, created, forbidden, forbidden, unauth}},
		{"react", "PUT", msg("/reactions/" + url.PathEscape("🎉")), nil, [numRoles]int{ok, ok, ok, forbidden, forbidden, unauth}},
		{"join (add self)", "POST", conv("/members"), func(w authzWorld, r int) string { return `{"user_ids":["` + w.ids[r] + `"]}` },
			[numRoles]int{ok, ok, ok, ok, ok, unauth}},
		{"add someone else", "POST", conv("/members"), func(w authzWorld, _ int) string { return `{"user_ids":["` + w.fresh + `"]}` },
			[numRoles]int{ok, ok, forbidden, forbidden, forbidden, unauth}},
		{"update conversation", "PATCH", conv(""), static(`{"title":"renamed"}`), [numRoles]int{ok, ok, forbidden, forbidden, forbidden, unauth}},
		{"get rules", "GET", conv("/rules"), nil, [numRoles]int{ok, ok, ok, forbidden, forbidden, unauth}},
		{"ban member", "POST", conv("/bans"), targetBody(""), [numRoles]int{created, created, forbidden, forbidden, forbidden, unauth}},
		{"mute member", "POST", conv("/moderation/mute"), targetBody(`,"duration_seconds":60`),
			[numRoles]int{ok, ok, forbidden, forbidden, forbidden, unauth}},
		{"set notification setting", "PUT", conv("/notifications"), static(`{"mentions_only":true}`),
			[numRoles]int{ok, ok, ok, forbidden, forbidden, unauth}},
	}
	broadcast := []authzCase{
		{"send", "POST", conv("/messages"), sendBody,
			[numRoles]int{created, created, forbidden, forbidden, forbidden, unauth}},
		{"react", "PUT", msg("/reactions/" + url.PathEscape("🎉")), nil, [numRoles]int{ok, ok, ok, forbidden, forbidden, unauth}},
	}
	n := 0
	run := func(label string, kind parley.ConversationKind, pub, bc bool, cases []authzCase) {
		for _, tc := range cases {
			for r := range numRoles {
				n++
				w := users.setup(t, env, n, kind, pub, bc)
				var body string
				if tc.body != nil {
					body = tc.body(w, r)
				}
				token := ""
				if r != anonymous {
					token = w.tokens[r]
				}
				got := authzCall(t, env, tc.method, tc.path(w, r), token, body)
				if got != tc.want[r] {
					t.Errorf("%s %s as %s: status %d, want %d", label, tc.name, roleNames[r], got, tc.want[r])
				}
			}
		}
	}
	run("private group:", parley.KindGroup, false, false, private)
	run("public channel:", parley.KindChannel, true, false, public)
	run("broadcast channel:", parley.KindChannel, true, true, broadcast)
	// Blocking is every signed-in user's own business; each block is lifted
	// again so the shared users stay able to build worlds.
	for r := range numRoles {
		token := ""
		if r != anonymous {
			token = users.clients[r].Token()
		}
		want := [2]int{ok, noContent}
		if r == anonymous {
			want = [2]int{unauth, unauth}
		}
		path := "/api/v1/blocks/" + users.fresh.ID
		if got := authzCall(t, env, "PUT", path, token, ""); got != want[0] {
			t.Errorf("block as %s: status %d, want %d", roleNames[r], got, want[0])
		}
		if got := authzCall(t, env, "DELETE", path, token, ""); got != want[1] {
			t.Errorf("unblock as %s: status %d, want %d", roleNames[r], got, want[1])
		}
	}
}

// sendPatiently sends; the matrix's server has a send rate high enough
// that it never waits.
func sendPatiently(ctx context.Context, c *client.Client, convID, body string) (parley.Message, error) {
	m, _, err := c.Send(ctx, convID, client.SendRequest{ClientMsgID: parley.NewID(), Body: body})
	return m, err
}

func authzCall(t *testing.T, env *apitest.Env, method, path, token, body string) int {
	t.Helper()
	status, _ := orgCall(t, env, method, path, token, body)
	return status
}
