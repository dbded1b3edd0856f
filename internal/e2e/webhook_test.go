package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

type received struct {
	sig, event, delivery string
	body                 []byte
}

// receiver is a webhook target answering status (settable) and keeping
// every request.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []received
	srv    *httptest.Server
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Get("X-Parley-Signature"), req.Header.Get("X-Parley-Event"),
			req.Header.Get("X-Parley-Delivery"), b})
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// waitFor polls cond (a bounded wait for the server's background worker,
// not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Outgoing webhooks: a message in the bot's conversation is POSTed once,
// signed; the bot's own messages and other conversations are not; a target
// that keeps failing is retried, logged, and disabled.
func TestOutgoingWebhook(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, func(c *server.Config) {
			if configure != nil {
				configure(c)
			}
			c.WebhooksAllowPrivate = true
			c.WebhookRetryBase = 20 * time.Millisecond
			c.WebhookMaxAttempts = 2
		})
		ctx := context.Background()
		owner, _ := env.NewUser(t, "owner")
		bot, err := owner.CreateBot(ctx, "hookbot", "")
		if err != nil {
			t.Fatal(err)
		}
		conv, _, err := owner.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "hooked",
			MemberIDs: []string{bot.ID}})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := owner.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "not hooked"})
		if err != nil {
			t.Fatal(err)
		}
		ok := newReceiver(t, http.StatusNoContent)
		hook, secret, err := owner.CreateOutgoingWebhook(ctx, bot.ID, ok.srv.URL+"/parley")
		if err != nil || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("CreateOutgoingWebhook = %+v %q %v", hook, secret, err)
		}
		if _, _, err := owner.Send(ctx, other.ID, client.SendRequest{Body: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		_, botToken, err := owner.CreateAPIToken(ctx, bot.ID, "t", parley.ScopeMessagesWrite)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.Client(client.WithToken(botToken)).Send(ctx, conv.ID, client.SendRequest{Body: "from the bot"}); err != nil {
			t.Fatal(err)
		}
		m, _, err := owner.Send(ctx, conv.ID, client.SendRequest{Body: "hello bot"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the delivery", func() bool { return len(ok.requests()) > 0 })
		var deliveries []parley.WebhookDelivery
		waitFor(t, "the log", func() bool {
			deliveries, _ = owner.WebhookDeliveries(ctx, bot.ID, hook.ID)
			return len(deliveries) == 1 && deliveries[0].Status == parley.DeliveryDelivered
		})
		time.Sleep(200 * time.Millisecond) // room for a wrong extra delivery to show
		reqs := ok.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1 (only the person's message in the bot's conversation)", len(reqs))
		}
		r := reqs[0]
		var p struct {
			Event          string         `json:"event"`
			WebhookID      string         `json:"webhook_id"`
			ConversationID string         `json:"conversation_id"`
			Message        parley.Message `json:"message"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || p.Event != "message.created" || p.WebhookID != hook.ID ||
			p.ConversationID != conv.ID || p.Message.ID != m.ID || p.Message.Body != "hello bot" || r.event != "message.created" {
			t.Fatalf("payload %s: %+v, %v", r.body, p, err)
		}
		unix, err := strconv.ParseInt(strings.TrimPrefix(strings.Split(r.sig, ",")[0], "t="), 10, 64)
		if err != nil {
			t.Fatalf("signature %q: %v", r.sig, err)
		}
		if want := app.Sign(secret, time.Unix(unix, 0), r.body); r.sig != want {
			t.Fatalf("signature %q, want %q", r.sig, want)
		}
		if r.delivery != deliveries[0].ID || deliveries[0].Attempts != 1 || deliveries[0].LastStatus != 204 {
			t.Fatalf("log = %+v (delivery header %q)", deliveries[0], r.delivery)
		}

		// A failing target: each delivery is tried twice, then failed; five
		// failed deliveries in a row disable the webhook.
		bad := newReceiver(t, http.StatusInternalServerError)
		badHook, _, err := owner.CreateOutgoingWebhook(ctx, bot.ID, bad.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, _, err := owner.Send(ctx, conv.ID, client.SendRequest{Body: "again " + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the webhook disabled", func() bool {
			hooks, _ := owner.OutgoingWebhooks(ctx, bot.ID)
			for _, h := range hooks {
				if h.ID == badHook.ID {
					return h.Disabled
				}
			}
			return false
		})
		log, err := owner.WebhookDeliveries(ctx, bot.ID, badHook.ID)
		if err != nil || len(log) != 5 {
			t.Fatalf("bad log = %+v, %v", log, err)
		}
		for _, d := range log {
			if d.Status != parley.DeliveryFailed || d.Attempts != 2 || d.LastStatus != 500 || d.LastError != "HTTP 500" {
				t.Fatalf("failed delivery = %+v", d)
			}
		}
		if n := len(bad.requests()); n != 10 {
			t.Fatalf("failing target got %d requests, want 10 (5 deliveries × 2 attempts)", n)
		}
		// The good webhook is unaffected and still delivers.
		waitFor(t, "the good webhook's deliveries", func() bool { return len(ok.requests()) == 6 })

		// Re-enabled by its owner: failures back at 0, new events queued.
		if e, err := owner.EnableOutgoingWebhook(ctx, bot.ID, badHook.ID); err != nil || e.ID != badHook.ID || e.Disabled || e.Failures != 0 {
			t.Fatalf("EnableOutgoingWebhook = %+v, %v", e, err)
		}
		if _, _, err := owner.Send(ctx, conv.ID, client.SendRequest{Body: "after re-enabling"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a new attempt at the re-enabled webhook", func() bool { return len(bad.requests()) > 10 })
		waitFor(t, "the good webhook's 7th delivery", func() bool { return len(ok.requests()) == 7 })
		if log, _ := owner.WebhookDeliveries(ctx, bot.ID, badHook.ID); len(log) != 6 {
			t.Fatalf("log after re-enabling: %d entries, want the 5 failed kept and 1 new", len(log))
		}
		// A disabled bot gets no events; enabled again, it does.
		if b, err := owner.DisableBot(ctx, bot.ID); err != nil || !b.Disabled {
			t.Fatalf("DisableBot = %+v, %v", b, err)
		}
		if _, _, err := owner.Send(ctx, conv.ID, client.SendRequest{Body: "while the bot is disabled"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // room for a wrong delivery to show
		if n := len(ok.requests()); n != 7 {
			t.Fatalf("a disabled bot's webhook got %d requests, want 7", n)
		}
		if b, err := owner.EnableBot(ctx, bot.ID); err != nil || b.Disabled {
			t.Fatalf("EnableBot = %+v, %v", b, err)
		}
		if _, _, err := owner.Send(ctx, conv.ID, client.SendRequest{Body: "enabled again"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a delivery after enabling the bot", func() bool { return len(ok.requests()) == 8 })
	})
}

// TestBotDisableEnable: an owner disables and enables their bot (its
// token stops and works again); a bot an admin disabled stays disabled for
// its owner; strangers, API tokens, anonymous callers and bad ids are
// refused; re-enabling a webhook checks the same.
func TestBotDisableEnable(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	owner, _ := env.NewUser(t, "owner")
	other, _ := env.NewUser(t, "other")
	root, _ := env.NewAdmin(t, "root")
	bot, err := owner.CreateBot(ctx, "pausebot", "")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := owner.CreateAPIToken(ctx, bot.ID, "t", parley.ScopeConversationsRead)
	if err != nil {
		t.Fatal(err)
	}
	botc := env.Client(client.WithToken(secret))
	hook, _, err := owner.CreateOutgoingWebhook(ctx, bot.ID, "https://example.org/x")
	if err != nil {
		t.Fatal(err)
	}
	hc := env.HTTPClient()
	base := "/api/v1/bots/" + bot.ID
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"anonymous disable", base + "/disable", "", 401},
		{"anonymous enable", base + "/enable", "", 401},
		{"anonymous webhook", base + "/outgoing-webhooks/" + hook.ID + "/enable", "", 401},
		{"stranger disable", base + "/disable", other.Token(), 404},
		{"stranger enable", base + "/enable", other.Token(), 404},
		{"stranger webhook", base + "/outgoing-webhooks/" + hook.ID + "/enable", other.Token(), 404},
		{"admin is not the owner", base + "/disable", root.Token(), 404},
		{"API token", base + "/disable", secret, 403},
		{"malformed bot id", "/api/v1/bots/x/disable", owner.Token(), 404},
		{"a person's id", "/api/v1/bots/" + bot.BotOwner + "/disable", owner.Token(), 404},
		{"malformed webhook id", base + "/outgoing-webhooks/x/enable", owner.Token(), 404},
		{"unknown webhook", base + "/outgoing-webhooks/" + parley.NewID() + "/enable", owner.Token(), 404},
	} {
		if _, _, status := rawCall(t, hc, env.URL, "POST", tc.path, tc.token, ""); status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, status, tc.status)
		}
	}
	if _, err := botc.Me(ctx); err != nil {
		t.Fatalf("the token before: %v", err)
	}
	for range 2 { // disabling twice is a no-op
		if b, err := owner.DisableBot(ctx, bot.ID); err != nil || !b.Disabled {
			t.Fatalf("DisableBot = %+v, %v", b, err)
		}
	}
	if _, err := botc.Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("the token of a disabled bot: %v", err)
	}
	for range 2 {
		if b, err := owner.EnableBot(ctx, bot.ID); err != nil || b.Disabled {
			t.Fatalf("EnableBot = %+v, %v", b, err)
		}
	}
	if _, err := botc.Me(ctx); err != nil {
		t.Fatalf("the token after enabling: %v", err)
	}
	// Disabled by an admin (after the owner's own disable and enable): the
	// owner cannot enable it; the admin can.
	if _, err := owner.DisableBot(ctx, bot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := root.EnableUser(ctx, bot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := root.DisableUser(ctx, bot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.EnableBot(ctx, bot.ID); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("owner enabling an admin-disabled bot: %v", err)
	}
	if _, err := owner.DisableBot(ctx, bot.ID); err != nil { // a no-op: still the admin's
		t.Fatal(err)
	}
	if _, err := owner.EnableBot(ctx, bot.ID); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("owner enabling an admin-disabled bot after a no-op disable: %v", err)
	}
	if _, err := root.EnableUser(ctx, bot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := botc.Me(ctx); err != nil {
		t.Fatalf("the token after the admin enabled it: %v", err)
	}
	// Re-enabling an enabled webhook changes nothing.
	if e, err := owner.EnableOutgoingWebhook(ctx, bot.ID, hook.ID); err != nil || e.Disabled || e.Failures != 0 || e.URL != hook.URL {
		t.Fatalf("EnableOutgoingWebhook(enabled) = %+v, %v", e, err)
	}
}

// Webhook URLs: bad forms and, by default, non-public targets are refused.
func TestOutgoingWebhookBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	owner, _ := env.NewUser(t, "owner")
	other, _ := env.NewUser(t, "other")
	bot, err := owner.CreateBot(ctx, "hookbot", "")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/bots/" + bot.ID + "/outgoing-webhooks"
	hc := env.HTTPClient()
	for _, tc := range []struct {
		name, body string
		status     int
		code       parley.Code
	}{
		{"missing url", `{}`, 400, parley.CodeInvalid},
		{"not a URL", `{"url":"not a url"}`, 400, parley.CodeInvalid},
		{"ftp", `{"url":"ftp://example.org/x"}`, 400, parley.CodeInvalid},
		{"user info", `{"url":"https://u:p@example.org/x"}`, 400, parley.CodeInvalid},
		{"loopback", `{"url":"http://127.0.0.1:8080/x"}`, 400, parley.CodeInvalid},
		{"private", `{"url":"http://10.1.2.3/x"}`, 400, parley.CodeInvalid},
		{"link-local (cloud metadata)", `{"url":"http://169.254.169.254/latest"}`, 400, parley.CodeInvalid},
		{"IPv6 loopback", `{"url":"http://[::1]/x"}`, 400, parley.CodeInvalid},
		{"localhost", `{"url":"http://localhost/x"}`, 400, parley.CodeInvalid},
		{"too long", `{"url":"https://example.org/` + strings.Repeat("a", 2100) + `"}`, 413, parley.CodeTooLarge},
		{"wrong type", `{"url":1}`, 400, parley.CodeInvalid},
	} {
		code, field, status := rawCall(t, hc, env.URL, "POST", path, owner.Token(), tc.body)
		if status != tc.status || code != tc.code || field != "url" {
			t.Errorf("%s: %d %s field %q, want %d %s field url", tc.name, status, code, field, tc.status, tc.code)
		}
	}
	if _, _, err := other.CreateOutgoingWebhook(ctx, bot.ID, "https://example.org/x"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("someone else's bot: %v", err)
	}
	if _, err := other.WebhookDeliveries(ctx, bot.ID, parley.NewID()); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("someone else's log: %v", err)
	}
	if _, err := owner.WebhookDeliveries(ctx, bot.ID, parley.NewID()); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("unknown webhook's log: %v", err)
	}
	for range parley.OutgoingWebhooksPerBot {
		if _, _, err := owner.CreateOutgoingWebhook(ctx, bot.ID, "https://example.org/x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := owner.CreateOutgoingWebhook(ctx, bot.ID, "https://example.org/x"); !parley.IsCode(err, parley.CodeConflict) {
		t.Fatalf("webhook beyond the cap: %v", err)
	}
}

// echoBot is a command webhook: it checks the signature and answers
// {"text": "echo: <text>"} (or status, when set).
func echoBot(t *testing.T, secret *string, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		sig := req.Header.Get("X-Parley-Signature")
		unix, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(sig, ",")[0], "t="), 10, 64)
		if sig != app.Sign(*secret, time.Unix(unix, 0), b) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		var in struct{ Event, Command, Text string }
		_ = json.Unmarshal(b, &in)
		_ = json.NewEncoder(w).Encode(map[string]string{"text": "echo: " + in.Text})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Slash commands reach the bot named, which answers in the conversation.
func TestSlashCommand(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, func(c *server.Config) {
			if configure != nil {
				configure(c)
			}
			c.WebhooksAllowPrivate = true
		})
		ctx := context.Background()
		owner, _ := env.NewUser(t, "owner")
		friend, _ := env.NewUser(t, "friend")
		stranger, _ := env.NewUser(t, "stranger")
		bot, err := owner.CreateBot(ctx, "echobot", "")
		if err != nil {
			t.Fatal(err)
		}
		conv, _, err := owner.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "cmds",
			MemberIDs: []string{mustMe(t, friend).ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := friend.RunCommand(ctx, conv.ID, "echobot", "hi"); parley.AsError(err) == nil || parley.AsError(err).Field != "command" {
			t.Fatalf("command for a bot not in the conversation: %v", err)
		}
		if _, err := owner.AddMembers(ctx, conv.ID, bot.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := friend.RunCommand(ctx, conv.ID, "echobot", "hi"); !parley.IsCode(err, parley.CodeConflict) {
			t.Fatalf("command for a bot without a webhook: %v", err)
		}
		var secret string
		srv := echoBot(t, &secret, 0)
		if _, secret, err = owner.CreateOutgoingWebhook(ctx, bot.ID, srv.URL); err != nil {
			t.Fatal(err)
		}
		m, err := friend.RunCommand(ctx, conv.ID, "EchoBot", "hello there")
		if err != nil || m == nil || m.Body != "echo: hello there" || m.SenderID != bot.ID {
			t.Fatalf("RunCommand = %+v, %v", m, err)
		}
		if got, err := owner.Message(ctx, conv.ID, m.Seq); err != nil || got.Body != "echo: hello there" {
			t.Fatalf("the answer in history: %+v, %v", got, err)
		}
		if _, err := stranger.RunCommand(ctx, conv.ID, "echobot", "x"); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("command from outside the conversation: %v", err)
		}
		if _, err := friend.RunCommand(ctx, conv.ID, "friend", "x"); !parley.IsCode(err, parley.CodeNotFound) {
			t.Fatalf("command naming a person: %v", err)
		}
		hc := env.HTTPClient()
		for _, tc := range []struct {
			name, body string
			status     int
			code       parley.Code
			field      string
		}{
			{"missing command", `{"text":"x"}`, 400, parley.CodeInvalid, "command"},
			{"bad command", `{"command":"a b"}`, 400, parley.CodeInvalid, "command"},
			{"text too long", `{"command":"echobot","text":"` + strings.Repeat("x", 4001) + `"}`, 413, parley.CodeTooLarge, "text"},
			{"wrong type", `{"command":"echobot","text":5}`, 400, parley.CodeInvalid, "text"},
			{"unknown field", `{"command":"echobot","args":"x"}`, 400, parley.CodeInvalid, ""},
		} {
			code, field, status := rawCall(t, hc, env.URL, "POST", "/api/v1/conversations/"+conv.ID+"/commands", friend.Token(), tc.body)
			if status != tc.status || code != tc.code || (tc.field != "" && field != tc.field) {
				t.Errorf("%s: %d %s field %q, want %d %s field %q", tc.name, status, code, field, tc.status, tc.code, tc.field)
			}
		}
		// A bot that fails: 503, nothing posted.
		bot2, _ := owner.CreateBot(ctx, "brokenbot", "")
		if _, err := owner.AddMembers(ctx, conv.ID, bot2.ID); err != nil {
			t.Fatal(err)
		}
		var secret2 string
		srv2 := echoBot(t, &secret2, http.StatusBadGateway)
		if _, secret2, err = owner.CreateOutgoingWebhook(ctx, bot2.ID, srv2.URL); err != nil {
			t.Fatal(err)
		}
		if _, err := friend.RunCommand(ctx, conv.ID, "brokenbot", "x"); !parley.IsCode(err, parley.CodeUnavailable) {
			t.Fatalf("command to a failing bot: %v", err)
		}
	})
}
