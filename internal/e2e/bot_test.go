package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/examples/pingbot"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// A person makes a bot and a scoped token; the bot, added to a group, can
// read and post there within its scopes and nowhere else; the example bot
// of docs/bots.md answers "!ping"; revoking the token or deleting the bot
// stops it.
func TestBots(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, configure)
		ctx := context.Background()
		owner, _ := env.NewUser(t, "owner")
		_, friend := env.NewUser(t, "friend")
		bot, err := owner.CreateBot(ctx, "pingbot", "Ping bot")
		if err != nil || !bot.Bot() || bot.DisplayName != "Ping bot" {
			t.Fatalf("CreateBot = %+v, %v", bot, err)
		}
		if bots, err := owner.Bots(ctx); err != nil || len(bots) != 1 || bots[0].ID != bot.ID {
			t.Fatalf("Bots = %+v, %v", bots, err)
		}
		// No password: a sign-in as the bot answers like a wrong password.
		if _, err := env.Client().Login(ctx, "pingbot", apitest.Password); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("password sign-in as a bot: %v", err)
		}
		_, secret, err := owner.CreateAPIToken(ctx, bot.ID, "example", parley.ScopeMessagesRead, parley.ScopeMessagesWrite)
		if err != nil || !strings.HasPrefix(secret, "pb_") {
			t.Fatalf("CreateAPIToken = %q, %v", secret, err)
		}
		b := env.Client(client.WithToken(secret))
		if me, err := b.Me(ctx); err != nil || me.ID != bot.ID || me.BotOwner == "" {
			t.Fatalf("bot Me = %+v, %v", me, err)
		}
		conv, _, err := owner.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "with a bot",
			MemberIDs: []string{friend.ID, bot.ID}})
		if err != nil {
			t.Fatal(err)
		}
		// Outside its scopes and its reach: 403.
		if _, err := b.Conversations(ctx, "", 0); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("list conversations without conversations:read: %v", err)
		}
		if _, err := b.Sessions(ctx); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("sessions with a token: %v", err)
		}
		if _, err := b.CreateBot(ctx, "botbot", ""); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("a bot making a bot: %v", err)
		}
		if _, _, err := b.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "x"}); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("a bot creating a conversation: %v", err)
		}
		if _, err := b.Connect(ctx, client.RealtimeOptions{}); err == nil {
			t.Fatal("a token opened a WebSocket")
		}

		// The example bot answers.
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- pingbot.Run(runCtx, b, conv.ID, 50*time.Millisecond) }()
		// The bot answers what arrives after it started, so ping until it
		// answers (the first ping may come before it looked).
		pings := map[int64]bool{}
		var reply parley.Message
		for deadline := time.Now().Add(20 * time.Second); reply.ID == "" && time.Now().Before(deadline); {
			ping, _, err := owner.Send(ctx, conv.ID, client.SendRequest{Body: "!ping"})
			if err != nil {
				t.Fatal(err)
			}
			pings[ping.Seq] = true
			for end := time.Now().Add(time.Second); reply.ID == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				msgs, err := owner.History(ctx, conv.ID, client.HistoryQuery{After: ping.Seq - 1})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if m.SenderID == bot.ID {
						reply = m
					}
				}
			}
		}
		stop()
		if err := <-done; err != nil {
			t.Fatalf("pingbot: %v", err)
		}
		if reply.Body != "pong" || !pings[reply.ReplyTo] {
			t.Fatalf("the bot's reply = %+v", reply)
		}

		// Revoked: 401 at once. Deleted bot: its other tokens stop too.
		toks, err := owner.APITokens(ctx, bot.ID)
		if err != nil || len(toks) != 1 || toks[0].LastUsedAt == nil {
			t.Fatalf("APITokens = %+v, %v", toks, err)
		}
		if err := owner.RevokeAPIToken(ctx, bot.ID, toks[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("revoked token: %v", err)
		}
		_, secret2, err := owner.CreateAPIToken(ctx, bot.ID, "second", parley.ScopeConversationsRead)
		if err != nil {
			t.Fatal(err)
		}
		b2 := env.Client(client.WithToken(secret2))
		if page, err := b2.Conversations(ctx, "", 0); err != nil || len(page.Conversations) != 1 {
			t.Fatalf("conversations with conversations:read: %+v, %v", page, err)
		}
		if _, _, err := b2.Send(ctx, conv.ID, client.SendRequest{Body: "hi"}); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("send without messages:write: %v", err)
		}
		if err := owner.DeleteBot(ctx, bot.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b2.Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("token of a deleted bot: %v", err)
		}
		// Its message stays, shown as a deleted user.
		if m, err := owner.Message(ctx, conv.ID, reply.Seq); err != nil || m.Body != "pong" {
			t.Fatalf("the deleted bot's message = %+v, %v", m, err)
		}
	})
}

// Bad input on every bot endpoint.
func TestBotBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	owner, _ := env.NewUser(t, "owner")
	other, _ := env.NewUser(t, "other")
	bot, err := owner.CreateBot(ctx, "helper", "")
	if err != nil {
		t.Fatal(err)
	}
	tok := owner.Token()
	botPath := "/api/v1/bots/" + bot.ID
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            parley.Code
		field                           string
	}{
		{"create: missing username", "POST", "/api/v1/bots", tok, `{}`, 400, parley.CodeInvalid, "username"},
		{"create: bad username", "POST", "/api/v1/bots", tok, `{"username":"a b"}`, 400, parley.CodeInvalid, "username"},
		{"create: username too long", "POST", "/api/v1/bots", tok, `{"username":"` + strings.Repeat("b", 33) + `"}`, 413, parley.CodeTooLarge, "username"},
		{"create: taken", "POST", "/api/v1/bots", tok, `{"username":"other"}`, 409, parley.CodeConflict, "username"},
		{"create: display name too long", "POST", "/api/v1/bots", tok, `{"username":"okbot","display_name":"` + strings.Repeat("d", 65) + `"}`, 413, parley.CodeTooLarge, "display_name"},
		{"create: wrong type", "POST", "/api/v1/bots", tok, `{"username":7}`, 400, parley.CodeInvalid, "username"},
		{"create: unknown field", "POST", "/api/v1/bots", tok, `{"username":"okbot","password":"x"}`, 400, parley.CodeInvalid, ""},
		{"token: no scopes", "POST", botPath + "/tokens", tok, `{"name":"t","scopes":[]}`, 400, parley.CodeInvalid, "scopes"},
		{"token: unknown scope", "POST", botPath + "/tokens", tok, `{"name":"t","scopes":["admin"]}`, 400, parley.CodeInvalid, "scopes"},
		{"token: scope twice", "POST", botPath + "/tokens", tok, `{"name":"t","scopes":["messages:read","messages:read"]}`, 400, parley.CodeInvalid, "scopes"},
		{"token: scopes not a list", "POST", botPath + "/tokens", tok, `{"name":"t","scopes":"messages:read"}`, 400, parley.CodeInvalid, "scopes"},
		{"token: missing name", "POST", botPath + "/tokens", tok, `{"scopes":["messages:read"]}`, 400, parley.CodeInvalid, "name"},
		{"token: name too long", "POST", botPath + "/tokens", tok, `{"name":"` + strings.Repeat("n", 65) + `","scopes":["messages:read"]}`, 413, parley.CodeTooLarge, "name"},
		{"token: someone else's bot", "POST", botPath + "/tokens", other.Token(), `{"name":"t","scopes":["messages:read"]}`, 404, parley.CodeNotFound, ""},
		{"token: a person's id", "GET", "/api/v1/bots/" + mustMe(t, other).ID + "/tokens", tok, ``, 404, parley.CodeNotFound, ""},
		{"token: malformed bot id", "GET", "/api/v1/bots/x/tokens", tok, ``, 404, parley.CodeNotFound, ""},
		{"revoke: unknown token", "DELETE", botPath + "/tokens/" + parley.NewID(), tok, ``, 404, parley.CodeNotFound, ""},
		{"delete: someone else's bot", "DELETE", botPath, other.Token(), ``, 404, parley.CodeNotFound, ""},
		{"bearer: malformed API token", "GET", "/api/v1/me", "pb_short", ``, 401, parley.CodeUnauthenticated, ""},
		{"bearer: unknown API token", "GET", "/api/v1/me", "pb_" + strings.Repeat("A", 43), ``, 401, parley.CodeUnauthenticated, ""},
	}
	hc := env.HTTPClient()
	for _, tc := range cases {
		code, field, status := rawCall(t, hc, env.URL, tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || code != tc.code || (tc.field != "" && field != tc.field) {
			t.Errorf("%s: %d %s field %q, want %d %s field %q", tc.name, status, code, field, tc.status, tc.code, tc.field)
		}
	}
	// The flood: the 11th bot and the 11th token are refused.
	for i := 1; i < parley.BotsPerOwner; i++ {
		if _, err := owner.CreateBot(ctx, fmt.Sprint("bot", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.CreateBot(ctx, "onetoomany", ""); !parley.IsCode(err, parley.CodeConflict) {
		t.Fatalf("bot beyond the cap: %v", err)
	}
	for i := range parley.APITokensPerBot {
		if _, _, err := owner.CreateAPIToken(ctx, bot.ID, fmt.Sprint("t", i), parley.ScopeMessagesRead); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := owner.CreateAPIToken(ctx, bot.ID, "over", parley.ScopeMessagesRead); !parley.IsCode(err, parley.CodeConflict) {
		t.Fatalf("token beyond the cap: %v", err)
	}
}

func mustMe(t *testing.T, c *client.Client) parley.User {
	t.Helper()
	u, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// rawCall sends one request and returns the error code and field of the
// answer (empty for a success) and its status.
func rawCall(t *testing.T, hc *http.Client, base, method, path, token, body string) (parley.Code, string, int) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb parley.ErrorBody
	if resp.StatusCode >= 400 {
		if err := jsonDecode(resp, &eb); err != nil {
			t.Fatalf("%s %s: error body: %v", method, path, err)
		}
	}
	return eb.Error.Code, eb.Error.Field, resp.StatusCode
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

// An incoming webhook posts into its conversation as its bot; a wrong
// secret, a deleted webhook and a bot removed from the conversation are
// refused; bad bodies get typed errors.
func TestIncomingWebhook(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, configure)
		ctx := context.Background()
		owner, _ := env.NewUser(t, "owner")
		other, _ := env.NewUser(t, "other")
		bot, err := owner.CreateBot(ctx, "cibot", "CI")
		if err != nil {
			t.Fatal(err)
		}
		conv, _, err := owner.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "builds"})
		if err != nil {
			t.Fatal(err)
		}
		// A private group the bot is not in does not exist for it.
		if _, _, err := owner.CreateIncomingWebhook(ctx, bot.ID, conv.ID); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("webhook for a conversation the bot is not in: %v", err)
		}
		if _, _, err := owner.CreateIncomingWebhook(ctx, bot.ID, parley.NewID()); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("webhook for an unknown conversation: %v", err)
		}
		if _, _, err := other.CreateIncomingWebhook(ctx, bot.ID, conv.ID); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("webhook for someone else's bot: %v", err)
		}
		if _, err := owner.AddMembers(ctx, conv.ID, bot.ID); err != nil {
			t.Fatal(err)
		}
		hook, path, err := owner.CreateIncomingWebhook(ctx, bot.ID, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := env.Client().PostWebhook(ctx, path, "build 42 passed")
		if err != nil || m.SenderID != bot.ID || m.Body != "build 42 passed" || m.ConversationID != conv.ID {
			t.Fatalf("post = %+v, %v", m, err)
		}
		if got, err := owner.Message(ctx, conv.ID, m.Seq); err != nil || got.Body != "build 42 passed" {
			t.Fatalf("the posted message in history: %+v, %v", got, err)
		}
		hc := env.HTTPClient()
		wrong := path[:len(path)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(path, "A")]
		for _, tc := range []struct {
			name, path, body string
			status           int
			code             parley.Code
			field            string
		}{
			{"wrong secret", wrong, `{"text":"x"}`, 404, parley.CodeNotFound, ""},
			{"unknown id", "/api/v1/hooks/" + parley.NewID() + "/" + strings.Repeat("A", 43), `{"text":"x"}`, 404, parley.CodeNotFound, ""},
			{"short secret", "/api/v1/hooks/" + hook.ID + "/abc", `{"text":"x"}`, 404, parley.CodeNotFound, ""},
			{"missing text", path, `{}`, 400, parley.CodeInvalid, "text"},
			{"text a number", path, `{"text":5}`, 400, parley.CodeInvalid, "text"},
			{"text too long", path, `{"text":"` + strings.Repeat("x", 4001) + `"}`, 413, parley.CodeTooLarge, "text"},
			{"unknown field", path, `{"text":"x","channel":"y"}`, 400, parley.CodeInvalid, ""},
			{"not JSON", path, `text=x`, 400, parley.CodeInvalid, ""},
		} {
			code, field, status := rawCall(t, hc, env.URL, "POST", tc.path, "", tc.body)
			if status != tc.status || code != tc.code || (tc.field != "" && field != tc.field) {
				t.Errorf("%s: %d %s field %q, want %d %s field %q", tc.name, status, code, field, tc.status, tc.code, tc.field)
			}
		}
		if hooks, err := owner.IncomingWebhooks(ctx, bot.ID); err != nil || len(hooks) != 1 || hooks[0].LastUsedAt == nil {
			t.Fatalf("IncomingWebhooks = %+v, %v", hooks, err)
		}
		// Out of the conversation: the webhook cannot post.
		if err := owner.RemoveMember(ctx, conv.ID, bot.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client().PostWebhook(ctx, path, "again"); !parley.IsCode(err, parley.CodeNotFound) && !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("post by a bot no longer in the conversation: %v", err)
		}
		if err := owner.DeleteIncomingWebhook(ctx, bot.ID, hook.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client().PostWebhook(ctx, path, "again"); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("post to a deleted webhook: %v", err)
		}
	})
}
