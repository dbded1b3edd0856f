package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// TestBrowserSlashCommand: "/echobot hi" typed in the composer goes to the
// bot's webhook (not sent as a message), and the bot's answer appears in
// the conversation; a command for no bot shows the server's error and
// keeps the text.
func TestBrowserSlashCommand(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.WebhooksAllowPrivate = true })
	ctx := context.Background()
	sam, _ := env.NewUser(t, "sam")
	bot, err := sam.CreateBot(ctx, "echobot", "Echo")
	if err != nil {
		t.Fatal(err)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Text string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &in)
		_ = json.NewEncoder(w).Encode(map[string]string{"text": "echo: " + in.Text})
	}))
	t.Cleanup(echo.Close)
	if _, _, err := sam.CreateOutgoingWebhook(ctx, bot.ID, echo.URL); err != nil {
		t.Fatal(err)
	}
	conv, _, err := sam.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "bots",
		MemberIDs: []string{bot.ID}})
	if err != nil {
		t.Fatal(err)
	}
	a := newTab(t)
	signIn(t, a, env.URL, sam, "/c/"+conv.ID)
	a.waitJS(t, "open", `document.documentElement.dataset.conn === 'online' && document.querySelector('.composer textarea')`)
	a.do(t, chromedp.Focus(chromedp.CSS(`.composer textarea`)), chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "/echobot hi there"), pressEnter())
	a.waitJS(t, "the bot's answer", `[...document.querySelectorAll('[role=log] *')].some(e => e.textContent === 'echo: hi there')`)
	if eval[bool](t, a, `[...document.querySelectorAll('[role=log] *')].some(e => e.textContent === '/echobot hi there')`) {
		t.Fatal("the command was sent as a message")
	}
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "/nobot x"), pressEnter())
	a.waitJS(t, "the error", `document.querySelector('.toast')?.textContent.includes('no bot @nobot')`)
	if v := eval[string](t, a, `document.querySelector('.composer textarea').value`); v != "/nobot x" {
		t.Fatalf("composer after a refused command: %q", v)
	}
}
