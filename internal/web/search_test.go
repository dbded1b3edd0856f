package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// signIn opens the app at path with c's session token.
func signIn(t *testing.T, tb *tab, base string, c *client.Client, path string) {
	t.Helper()
	tb.do(t, chromedp.Navigate(base+"/login"))
	tb.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
	eval[bool](t, tb, `(localStorage.setItem('parley.token', `+js(c.Token())+`), true)`)
	tb.do(t, chromedp.Navigate(base+path))
}

// TestBrowserSearch: the search dialog finds a message deep in the history
// with the match highlighted (markup in a message stays text), and choosing
// the hit opens its conversation scrolled to the message; a bad filter
// shows the server's error.
func TestBrowserSearch(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	target := sdkSend(t, bob, dm.ID, "needle", `the <img src=x onerror=alert(1)> needle is here`, 0)
	for i := range 90 { // beyond the first page (50), within the send burst (100)
		sdkSend(t, bob, dm.ID, fmt.Sprint("h", i), fmt.Sprint("haystack ", i), 0)
	}
	a := newTab(t)
	signIn(t, a, env.URL, alice, "/")
	a.waitJS(t, "app", `document.querySelector('.search-btn')`)
	a.clickJS(t, `.search-btn`)
	a.waitJS(t, "search dialog", `document.querySelector('.search-dialog input[type=search]')`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.search-dialog input[type=search]`), "NEEDLE"))
	// The dialog searches as one types: wait for the answer to the whole word
	// (a slow machine may still show the hits for "need").
	a.waitJS(t, "one hit for the whole word", `document.querySelectorAll('.search-hit').length === 1 &&
		document.querySelector('.search-hit mark')?.textContent.length === 6`)
	if got := eval[string](t, a, `document.querySelector('.search-hit mark')?.textContent`); got != "needle" {
		t.Fatalf("highlight %q", got)
	}
	if n := eval[int](t, a, `document.querySelectorAll('.search-dialog img').length`); n != 0 {
		t.Fatal("markup in a message became an element")
	}
	a.clickJS(t, `.search-hit`)
	a.waitJS(t, "jumped to the message", `(() => { const e = document.getElementById('m-`+fmt.Sprint(target.Seq)+`'); if (!e) return false;
		const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight })()`)
	if p := eval[string](t, a, `location.pathname`); p != "/c/"+dm.ID {
		t.Fatalf("path %s", p)
	}
	// A bad filter: the server's message is shown.
	a.clickJS(t, `.search-btn`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.search-dialog input[type=search]`), "x has:video"))
	a.waitJS(t, "error shown", `document.querySelector('.search-dialog .form-error')?.textContent.includes('has:')`)
	for _, e := range a.jsErrors() {
		if !strings.Contains(e, "status of 400") { // the refused query itself
			t.Fatalf("js error: %v", e)
		}
	}
}

// TestBrowserContacts: alice finds bob in the contacts panel and sends a
// request; bob sees it arrive live (contact_request event) and accepts;
// alice's panel then lists bob as a contact; bob's privacy setting is saved.
func TestBrowserContacts(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	a, b := newTab(t), newTab(t)
	signIn(t, a, env.URL, alice, "/")
	signIn(t, b, env.URL, bob, "/")
	for _, tb := range []*tab{a, b} {
		tb.waitJS(t, "app", `document.querySelector('.contacts-btn') && document.documentElement.dataset.conn === 'online'`)
		tb.clickJS(t, `.contacts-btn`)
		tb.waitJS(t, "contacts dialog", `document.querySelector('.contacts-dialog .contact-list li')`)
	}
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.contacts-dialog input[type=search]`), "chen"))
	a.waitJS(t, "bob found", `document.querySelector('.people-results [data-user="`+bobU.ID+`"]')`)
	a.clickJS(t, `.people-results [data-user="`+bobU.ID+`"] .btn-primary`)
	a.waitJS(t, "outgoing request", `document.querySelector('.contact-outgoing [data-user="`+bobU.ID+`"]')`)
	b.waitJS(t, "incoming request, live", `document.querySelector('.contact-incoming [data-user]')`)
	b.clickJS(t, `.contact-incoming [data-user] .btn-primary`)
	a.waitJS(t, "bob is a contact, live", `document.querySelector('.contact-list [data-user="`+bobU.ID+`"]')`)
	// As a person would: pick from the list (a change event). A refresh from
	// the live contact events must not undo the pick before it is saved.
	eval[bool](t, b, `(s => { s.value = 'nobody'; s.dispatchEvent(new Event('change')); return true })(document.querySelector('.contacts-dialog select'))`)
	b.clickJS(t, `.save-privacy`)
	b.waitJS(t, "saved", `document.body.innerText.includes('Privacy settings saved')`)
	p, err := bob.Privacy(context.Background())
	if err != nil || p.FindMe != parley.AudienceNobody {
		t.Fatalf("privacy %+v %v", p, err)
	}
	for _, tb := range []*tab{a, b} {
		if errs := tb.jsErrors(); len(errs) > 0 {
			t.Fatalf("js errors: %v", errs)
		}
	}
}

// TestBrowserJumpFarBack: a search hit far back in a long conversation is
// opened through the context endpoint (the messages around it, not every
// page in between); scrolling down pages forward; "Latest" goes back to the
// newest messages, and a message arriving meanwhile is there.
func TestBrowserJumpFarBack(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.SendRate = 1e6 })
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	target := sdkSend(t, bob, dm.ID, "needle", "the deep needle", 0)
	var last parley.Message
	for i := range 700 {
		last = sdkSend(t, bob, dm.ID, fmt.Sprint("h", i), fmt.Sprint("haystack ", i), 0)
	}
	a := newTab(t)
	signIn(t, a, env.URL, alice, "/")
	a.waitJS(t, "app", `document.querySelector('.search-btn')`)
	a.clickJS(t, `.search-btn`)
	a.waitJS(t, "search dialog", `document.querySelector('.search-dialog input[type=search]')`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.search-dialog input[type=search]`), "needle"))
	a.waitJS(t, "the hit", `document.querySelectorAll('.search-hit').length === 1`)
	a.clickJS(t, `.search-hit`)
	a.waitJS(t, "jumped to the message", `(() => { const e = document.getElementById('m-`+fmt.Sprint(target.Seq)+`'); if (!e) return false;
		const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight })()`)
	rows := `document.querySelectorAll('.msg-list li[id^="m-"]').length`
	if n := eval[int](t, a, rows); n > 200 {
		t.Fatalf("%d messages rendered: the jump paged through the history", n)
	}
	if n := eval[int](t, a, `document.querySelectorAll('#m-`+fmt.Sprint(last.Seq)+`').length`); n != 0 {
		t.Fatal("the newest message is rendered next to a message 700 back")
	}
	a.waitJS(t, "Latest offered", `!document.querySelector('.jump-bottom').hidden`)
	// Scrolling to the end of the block loads the next page.
	before := eval[int](t, a, rows)
	a.waitJS(t, "paged forward", `(() => { const s = document.querySelector('.msg-scroll'); s.scrollTop = s.scrollHeight;
		return document.querySelectorAll('.msg-list li[id^="m-"]').length > `+fmt.Sprint(before)+` })()`)
	// A message arriving meanwhile, then Latest: the newest messages, that one included.
	fresh := sdkSend(t, bob, dm.ID, "fresh", "a fresh one", 0)
	a.clickJS(t, `.jump-bottom`)
	a.waitJS(t, "at the latest", `(() => { const e = document.getElementById('m-`+fmt.Sprint(fresh.Seq)+`'); if (!e) return false;
		const r = e.getBoundingClientRect(); return r.bottom <= innerHeight + 2 })()`)
	if errs := a.jsErrors(); len(errs) > 0 {
		t.Fatalf("js errors: %v", errs)
	}
}
