package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// setInput sets an input or select (by CSS selector) to v, as typing would.
func setInput(t *testing.T, tb *tab, sel, v string) {
	t.Helper()
	tb.waitJS(t, "input "+sel, `!!document.querySelector(`+js(sel)+`)`)
	eval[bool](t, tb, `(() => { const i = document.querySelector(`+js(sel)+`); i.value = `+js(v)+`; i.dispatchEvent(new Event('input', {bubbles: true})); return true })()`)
}

// submit submits the form holding the element sel.
func submit(t *testing.T, tb *tab, sel string) {
	t.Helper()
	eval[bool](t, tb, `(document.querySelector(`+js(sel)+`).form.requestSubmit(), true)`)
}

// confirmYes accepts the open confirmation dialog.
func confirmYes(t *testing.T, tb *tab) {
	t.Helper()
	tb.clickJS(t, `dialog.modal .modal-actions .btn-danger`)
	tb.waitJS(t, "the confirmation closed", `!document.querySelector('dialog.modal .modal-actions .btn-danger')`)
}

// TestBrowserBotsPage: from the settings to the Bots page, a person creates
// a bot, a token shown once (which works, then is revoked), an incoming
// webhook URL for a conversation the page adds the bot to (which posts), an
// outgoing webhook whose failures disable it (log shown) and which is
// re-enabled and delivers; the slash command's state follows; the bot is
// disabled, enabled and deleted.
func TestBrowserBotsPage(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) {
		c.WebhooksAllowPrivate = true
		c.WebhookRetryBase = 10 * time.Millisecond
		c.WebhookMaxAttempts = 1
	})
	ctx := context.Background()
	sam, _ := env.NewUser(t, "sam")
	conv, _, err := sam.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Ops"})
	if err != nil {
		t.Fatal(err)
	}
	var healthy atomic.Bool
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !healthy.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)

	a := newTab(t)
	signIn(t, a, env.URL, sam, "/")
	a.clickJS(t, `button[aria-label=Settings]`)
	a.clickJS(t, `dialog .bots-link`)
	a.waitJS(t, "the bots page", `location.pathname === '/bots' && document.querySelector('.bots-page .bot-list')?.textContent.includes('no bots')`)

	// Create a bot: it is listed and picked.
	setInput(t, a, `input[name=bot-username]`, "cibot")
	setInput(t, a, `input[name=bot-display]`, "CI bot")
	submit(t, a, `input[name=bot-username]`)
	a.waitJS(t, "the bot", `document.querySelector('tr[data-bot=cibot]')?.textContent.includes('CI bot') && document.querySelector('.bot-detail h2')?.textContent.includes('@cibot')`)
	bots, err := sam.Bots(ctx)
	if err != nil || len(bots) != 1 || bots[0].Username != "cibot" {
		t.Fatalf("bots %+v %v", bots, err)
	}
	bot := bots[0]

	// A token, shown once, that works until revoked.
	setInput(t, a, `input[name=token-name]`, "deploy")
	submit(t, a, `input[name=token-name]`)
	a.waitJS(t, "the token", `document.querySelector('.token-secret')?.value.startsWith('pb_') && document.querySelector('tr[data-token=deploy]')`)
	secret := eval[string](t, a, `document.querySelector('.token-secret').value`)
	botc := env.Client(client.WithToken(secret))
	if me, err := botc.Me(ctx); err != nil || me.ID != bot.ID {
		t.Fatalf("the token: %+v %v", me, err)
	}
	if tokens, _ := sam.APITokens(ctx, bot.ID); len(tokens) != 1 || len(tokens[0].Scopes) != 2 {
		t.Fatalf("tokens %+v (the default scopes are messages:read and messages:write)", tokens)
	}
	a.clickJS(t, `tr[data-token=deploy] [data-action=revoke]`)
	confirmYes(t, a)
	a.waitJS(t, "revoked", `!document.querySelector('tr[data-token=deploy]') && !document.querySelector('.token-secret')`)
	if _, err := botc.Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("a revoked token: %v", err)
	}

	// An incoming webhook: not a member yet (refused), added, then created.
	a.waitJS(t, "the conversation picker", `document.querySelector('select[name=hook-conversation]')?.value === `+js(conv.ID))
	a.clickJS(t, `[data-action=create-incoming]`)
	a.waitJS(t, "refused: not a member", `document.querySelector('.bots-page .form-error')?.textContent !== ''`)
	a.clickJS(t, `[data-action=add-the-bot-to-it]`)
	a.waitJS(t, "added", `document.querySelector('.toast')?.textContent.includes('@cibot added')`)
	a.clickJS(t, `[data-action=create-incoming]`)
	a.waitJS(t, "the URL", `document.querySelector('.hook-url')?.value.includes('/api/v1/hooks/') && document.querySelector('.bot-incoming tbody tr')?.textContent.includes('Ops')`)
	hookURL := eval[string](t, a, `document.querySelector('.hook-url').value`)
	if _, err := sam.PostWebhook(ctx, strings.TrimPrefix(hookURL, env.URL), "build 42 passed"); err != nil {
		t.Fatalf("posting to %s: %v", hookURL, err)
	}

	// An outgoing webhook to a failing receiver: five failed deliveries
	// disable it; the log shows them; re-enabled, it delivers.
	setInput(t, a, `input[name=hook-url]`, recv.URL+"/parley")
	submit(t, a, `input[name=hook-url]`)
	a.waitJS(t, "the signing secret", `document.querySelector('.hook-secret')?.value.startsWith('whsec_') && document.querySelector('.bot-outgoing .hook-state')?.textContent === 'enabled'`)
	a.waitJS(t, "the command is active", `document.querySelector('.bot-command-state')?.dataset.active === 'true'`)
	for i := range 5 {
		sdkSend(t, sam, conv.ID, parley.NewID(), "event "+itoa(int64(i)), 0)
	}
	waitUntil(t, "the webhook disabled", func() bool {
		hooks, _ := sam.OutgoingWebhooks(ctx, bot.ID)
		return len(hooks) == 1 && hooks[0].Disabled
	})
	a.clickJS(t, `tr[data-bot=cibot] [data-action=manage]`)
	a.waitJS(t, "shown disabled", `document.querySelector('.bot-outgoing .hook-state')?.textContent === 'disabled' && document.querySelector('.bot-command-state')?.dataset.active === 'false'`)
	a.clickJS(t, `.bot-outgoing [data-action=deliveries]`)
	a.waitJS(t, "the failed deliveries", `document.querySelectorAll('.bot-deliveries tr[data-status=failed]').length === 5 && document.querySelector('.bot-deliveries')?.textContent.includes('HTTP 500')`)
	healthy.Store(true)
	a.clickJS(t, `.bot-outgoing [data-action=re-enable]`)
	a.waitJS(t, "re-enabled", `document.querySelector('.bot-outgoing .hook-state')?.textContent === 'enabled' && document.querySelector('.bot-command-state')?.dataset.active === 'true'`)
	sdkSend(t, sam, conv.ID, parley.NewID(), "after the fix", 0)
	waitUntil(t, "a delivery", func() bool {
		log, _ := sam.WebhookDeliveries(ctx, bot.ID, mustHookID(t, sam, bot.ID))
		return len(log) > 0 && log[0].Status == parley.DeliveryDelivered
	})
	a.clickJS(t, `.bot-outgoing [data-action=deliveries]`)
	a.waitJS(t, "the delivered one", `document.querySelectorAll('.bot-deliveries tr[data-status=delivered]').length === 1`)

	// Disable, enable, delete.
	a.clickJS(t, `tr[data-bot=cibot] [data-action=disable]`)
	a.waitJS(t, "disabled", `document.querySelector('tr[data-bot=cibot] .bot-state')?.textContent === 'disabled' && document.querySelector('.bot-command-state')?.dataset.active === 'false'`)
	if _, err := sam.PostWebhook(ctx, strings.TrimPrefix(hookURL, env.URL), "while disabled"); err == nil {
		t.Fatal("a disabled bot's webhook URL posted")
	}
	a.clickJS(t, `tr[data-bot=cibot] [data-action=enable]`)
	a.waitJS(t, "enabled", `document.querySelector('tr[data-bot=cibot] .bot-state')?.textContent === 'active'`)
	a.clickJS(t, `tr[data-bot=cibot] [data-action=delete]`)
	confirmYes(t, a)
	a.waitJS(t, "deleted", `!document.querySelector('tr[data-bot=cibot]') && !document.querySelector('.bot-detail h2')`)
	if bots, _ := sam.Bots(ctx); len(bots) != 0 {
		t.Fatalf("bots after delete %+v", bots)
	}
	for _, e := range a.jsErrors() { // the refused webhook (not a member yet) is a 404 in the console
		if !strings.Contains(e, "Failed to load resource") {
			t.Fatalf("js error: %v", e)
		}
	}
}

func mustHookID(t *testing.T, c *client.Client, botID string) string {
	t.Helper()
	hooks, err := c.OutgoingWebhooks(context.Background(), botID)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("hooks %+v %v", hooks, err)
	}
	return hooks[0].ID
}

// waitUntil polls cond (a server-side state) for at most 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestBrowserRetention: an owner sets a conversation's retention in its
// settings (a bad value is refused in the form, nothing sent); a member sees
// it without the form; a server admin places and lifts a legal hold.
func TestBrowserRetention(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	root, rootU := env.NewAdmin(t, "root")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Kept",
		MemberIDs: []string{bobU.ID, rootU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	openRetention := func(tb *tab, c *client.Client) {
		t.Helper()
		signIn(t, tb, env.URL, c, "/c/"+g.ID)
		tb.clickJS(t, `button[aria-label=Members]`)
		tb.waitJS(t, "the retention section", `document.querySelector('dialog .retention-state')?.dataset.days !== undefined`)
	}

	a := newTab(t)
	openRetention(a, alice)
	a.waitJS(t, "forever", `document.querySelector('.retention-state').textContent.includes('kept forever') && document.querySelector('.legal-hold-state').dataset.hold === 'false'`)
	if eval[bool](t, a, `!!document.querySelector('[data-action=legal-hold]')`) {
		t.Fatal("a conversation owner sees the legal hold button")
	}
	setInput(t, a, `input[name=retention-days]`, "5000")
	submit(t, a, `input[name=retention-days]`)
	a.waitJS(t, "refused in the form", `document.querySelector('.retention-section .form-error')?.textContent.includes('0 (forever) to 3650') && document.querySelector('input[name=retention-days]').getAttribute('aria-invalid') === 'true'`)
	if p, err := alice.Retention(ctx, g.ID); err != nil || p.Days != 0 {
		t.Fatalf("after a refused value: %+v %v", p, err)
	}
	setInput(t, a, `input[name=retention-days]`, "30")
	submit(t, a, `input[name=retention-days]`)
	confirmYes(t, a)
	a.waitJS(t, "saved", `document.querySelector('.retention-state').dataset.days === '30' && document.querySelector('.retention-section .form-error').textContent === ''`)
	if p, err := alice.Retention(ctx, g.ID); err != nil || p.Days != 30 {
		t.Fatalf("after saving: %+v %v", p, err)
	}

	b := newTab(t)
	openRetention(b, bob)
	b.waitJS(t, "the member sees it", `document.querySelector('.retention-state').dataset.days === '30' && !document.querySelector('input[name=retention-days]')`)

	r := newTab(t)
	openRetention(r, root)
	r.clickJS(t, `[data-action=legal-hold]`)
	r.waitJS(t, "on hold", `document.querySelector('.legal-hold-state').dataset.hold === 'true' && document.querySelector('[data-action=legal-hold]').textContent === 'Lift legal hold'`)
	if p, err := alice.Retention(ctx, g.ID); err != nil || !p.LegalHold || p.Days != 30 {
		t.Fatalf("after the hold: %+v %v", p, err)
	}
	r.clickJS(t, `[data-action=legal-hold]`)
	r.waitJS(t, "lifted", `document.querySelector('.legal-hold-state').dataset.hold === 'false'`)
	if p, err := root.Retention(ctx, g.ID); err != nil || p.LegalHold {
		t.Fatalf("after lifting: %+v %v", p, err)
	}
	for _, tb := range []*tab{a, b, r} {
		if errs := tb.jsErrors(); len(errs) > 0 {
			t.Fatalf("js errors: %v", errs)
		}
	}
}
