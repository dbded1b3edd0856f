package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

func named(t *testing.T, c *client.Client, display, status string) {
	t.Helper()
	if _, err := c.UpdateMe(context.Background(), client.ProfileUpdate{DisplayName: &display, StatusText: &status}); err != nil {
		t.Fatal(err)
	}
}

func sdkSend(t *testing.T, c *client.Client, conv, id, body string, replyTo int64) parley.Message {
	t.Helper()
	m, _, err := c.Send(context.Background(), conv, client.SendRequest{ClientMsgID: id, Body: body, ReplyTo: replyTo})
	if err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
	return m
}

// TestBrowserGroup: sign in through the login form; a direct message from
// someone else shows as unread; create a group with members picked by
// search; @mention autocompletion; "Seen by" from another member's read
// receipt; a reply that mentions you is highlighted with its quote; a
// reaction from another member; browse and join a public channel with its
// history; mute it; list its members; leave it; phone width shows one pane.
// With PARLEY_UPDATE_SCREENSHOT=1 it saves docs/screenshot.png.
func TestBrowserGroup(t *testing.T) {
	env := apitest.Start(t, nil) // started first so the browser tabs close before it shuts down
	a := newTab(t)
	if r, err := http.Get(env.URL + "/api/v1/conversations"); err != nil || r.StatusCode == http.StatusNotFound {
		t.Skip("the conversations API is not in this build yet")
	}
	ctx := context.Background()
	alice, aliceU := env.NewUser(t, "alice")
	named(t, alice, "Alice Martin", "Planning the offsite")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	carol, carolU := env.NewUser(t, "carol")
	named(t, carol, "Carol Diaz", "")
	dave, _ := env.NewUser(t, "dave")
	named(t, dave, "Dave Okafor", "")

	// Carol's public channel with some history; Dave's direct message.
	design, _, err := carol.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel, Title: "design", Topic: "Mockups and reviews", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	sdkSend(t, carol, design.ID, "d1", "New mockups for the settings page are up 🎨", 0)
	sdkSend(t, carol, design.ID, "d2", "Feedback welcome before Friday", 0)
	dm, _, err := dave.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{aliceU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sdkSend(t, dave, dm.ID, "x1", "Are we still on for lunch tomorrow?", 0)
	_ = alice

	// Sign in through the form.
	a.do(t, chromedp.Navigate(env.URL+"/"))
	a.waitJS(t, "login form", `location.pathname === '/login' && document.querySelector('input[name=username]')`)
	a.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apitest.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	a.waitJS(t, "online", `document.documentElement.dataset.conn === 'online'`)
	a.waitJS(t, "dave's unread direct message", `[...document.querySelectorAll('.conv-item.has-unread')].some(e => e.textContent.includes('Dave Okafor') && e.querySelector('.badge')?.textContent === '1')`)

	// New group with Bob and Carol, picked by search.
	a.do(t, chromedp.Click(chromedp.CSS(`.new-btn`)))
	a.do(t, chromedp.Click(chromedp.CSS(`.menu-item:nth-child(2)`)))
	a.waitJS(t, "group dialog", `document.querySelector('dialog h2')?.textContent === 'New group'`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog form input`), "Weekend trip"))
	for _, u := range []string{"bob", "carol"} {
		a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), u))
		a.waitJS(t, u+" found", `[...document.querySelectorAll('dialog .pick')].some(e => e.textContent.includes('@`+u+`'))`)
		a.clickJS(t, `dialog .pick`)
	}
	a.waitJS(t, "two chips", `document.querySelectorAll('dialog .chip').length === 2`)
	a.clickJS(t, `dialog button[type=submit]`)
	a.waitJS(t, "group open", `document.querySelector('.chat-title')?.textContent === 'Weekend trip' && document.querySelector('.msg-system')`)
	groupID := eval[string](t, a, `window.parley.openConv`)

	// @mention autocompletion.
	a.do(t, chromedp.Focus(chromedp.CSS(`.composer textarea`)), chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "Who is in for hiking on Saturday, @bo"))
	a.waitJS(t, "mention suggestions", `document.querySelector('.mention-list:not([hidden]) .mention-opt')?.textContent.includes('@bob')`)
	a.do(t, pressEnter())
	a.waitJS(t, "mention inserted", `document.querySelector('.composer textarea').value.endsWith('@bob ')`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "and @carol? ⛰️"), pressEnter())
	a.waitJS(t, "sent with highlighted mentions", `[...document.querySelectorAll('.msg.mine:not(.status-pending) .mention')].map(e => e.textContent).join() === '@bob,@carol'`)
	last := eval[int64](t, a, `window.parley.store.win(window.parley.openConv).seqs.at(-1)`)

	// Bob reads it; Carol replies mentioning Alice; Bob reacts.
	if _, err := bob.MarkRead(ctx, groupID, last); err != nil {
		t.Fatal(err)
	}
	a.waitJS(t, "seen by bob", `document.querySelector('.msg.mine .seen-by')?.textContent === 'Seen by Bob Chen'`)
	sdkSend(t, carol, groupID, "g1", "Count me in! @alice can you book the cabin?", last)
	if _, err := bob.React(ctx, groupID, last, "🎉"); err != nil {
		t.Fatal(err)
	}
	sdkSend(t, bob, groupID, "g2", "Same here. I'll bring snacks 🥨", 0)
	a.waitJS(t, "reply mentioning alice", `document.querySelector('.msg.mention-me .quote')?.textContent.includes('hiking') && document.querySelector('.mention.mention-me')`)
	a.waitJS(t, "bob's reaction", `document.querySelector('.msg.mine .reaction')?.textContent === '🎉1'`)
	// A reaction from the emoji picker.
	eval[bool](t, a, `(document.querySelector('.msg.mention-me [aria-label="Add reaction"]').click(), true)`)
	a.waitJS(t, "picker open with focus", `document.activeElement?.closest('.reaction-picker')`)
	a.do(t, chromedp.Click(chromedp.CSS(`.reaction-picker button[aria-label="🚀"]`)))
	a.waitJS(t, "picked reaction", `document.querySelector('.msg.mention-me .reaction.mine')?.textContent === '🚀1' && !document.querySelector('.reaction-picker')`)
	a.waitJS(t, "bob's message", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent.startsWith('Same here'))`)
	if _, err := carol.MarkRead(ctx, groupID, last); err != nil {
		t.Fatal(err)
	}
	a.waitJS(t, "seen by both", `document.querySelector('.msg.mine .seen-by')?.textContent === 'Seen by Bob Chen, Carol Diaz' || document.querySelector('.msg.mine .seen-by')?.textContent === 'Seen by Carol Diaz, Bob Chen'`)

	// Browse and join the public channel; its history shows.
	a.do(t, chromedp.Click(chromedp.CSS(`.new-btn`)))
	a.do(t, chromedp.Click(chromedp.CSS(`.menu-item:nth-child(4)`)))
	a.waitJS(t, "design listed", `[...document.querySelectorAll('dialog .channel-row')].some(e => e.textContent.includes('design') && e.textContent.includes('Mockups'))`)
	a.clickJS(t, `dialog .channel-row button`)
	a.waitJS(t, "channel open with history", `document.querySelector('.chat-title')?.textContent === 'design' && [...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'Feedback welcome before Friday')`)
	a.waitJS(t, "join recorded", `[...document.querySelectorAll('.msg-system')].some(e => e.textContent.includes('You joined'))`)

	// Mute it, see the members, leave it.
	a.do(t, chromedp.Click(chromedp.CSS(`.chat-actions button[aria-label="Mute notifications"]`)))
	a.waitJS(t, "muted", `document.querySelector('.conv-item.active .muted-icon') && document.querySelector('.chat-actions button[aria-label="Unmute notifications"]')`)

	// Notifications while the tab is hidden: the muted channel only notifies
	// for a mention; the direct chat notifies.
	eval[bool](t, a, `(() => {
		window.__notes = [];
		window.Notification = class { static permission = 'granted'; static requestPermission() { return Promise.resolve('granted') }
			constructor(title, o) { window.__notes.push(title + '|' + o.body) } close() {} };
		Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
		return true })()`)
	sdkSend(t, carol, design.ID, "d3", "Just a regular update", 0)
	sdkSend(t, carol, design.ID, "d4", "@alice could you review the header?", 0)
	sdkSend(t, dave, dm.ID, "x2", "Ping?", 0)
	a.waitJS(t, "two notifications", `window.__notes.length === 2`)
	a.waitJS(t, "dave's second message in the list", `[...document.querySelectorAll('.conv-item')].some(e => e.textContent.includes('Ping?') && e.querySelector('.badge')?.textContent === '2')`)
	notes := eval[[]string](t, a, `(delete document.hidden, window.__notes)`)
	if notes[0] != "Carol Diaz in design mentioned you|@alice could you review the header?" || notes[1] != "Dave Okafor|Ping?" {
		t.Errorf("notifications: %q", notes)
	}

	a.do(t, chromedp.Click(chromedp.CSS(`.chat-actions button[aria-label="Members"]`)))
	a.waitJS(t, "members listed", `document.querySelectorAll('dialog .member-row').length === 2 && document.querySelector('dialog').textContent.includes('owner')`)
	eval[bool](t, a, `(document.querySelector('dialog').close(), true)`)
	muted := eval[bool](t, a, `fetch('/api/v1/conversations', {headers: {Authorization: 'Bearer ' + window.parley.api.token}}).then(r => r.json()).then(l => l.conversations.find(c => c.id === window.parley.openConv).self.muted)`)
	if !muted {
		t.Error("mute was not stored on the server")
	}
	a.do(t, chromedp.Click(chromedp.CSS(`.chat-actions button[aria-label="Leave conversation"]`)))
	a.waitJS(t, "confirm", `document.querySelector('dialog .btn-danger')`)
	a.clickJS(t, `dialog .btn-danger`)
	a.waitJS(t, "left", `location.pathname === '/' && ![...document.querySelectorAll('.conv-item')].some(e => e.textContent.includes('design'))`)

	// Back to the group for the screenshot.
	a.do(t, chromedp.Click(chromedp.CSS(`.conv-item[data-id="`+groupID+`"]`)))
	a.waitJS(t, "group again", `document.querySelector('.chat-title')?.textContent === 'Weekend trip' && document.querySelector('.seen-by')`)
	eval[bool](t, a, `(document.activeElement.blur(), document.getElementById('toasts').replaceChildren(), true)`)
	saveScreenshot(t, a, true, "group")

	// Shift+Enter makes a new line; Enter sends.
	a.do(t, chromedp.Focus(chromedp.CSS(`.composer textarea`)), chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "Packing list:"),
		pressEnterMod(8), chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "boots"), pressEnter())
	a.waitJS(t, "two-line message", `[...document.querySelectorAll('.msg.mine .body')].some(e => e.textContent === 'Packing list:\nboots')`)

	// Remove a member and invite another from the members dialog.
	a.do(t, chromedp.Click(chromedp.CSS(`.chat-actions button[aria-label="Members"]`)))
	a.waitJS(t, "members", `document.querySelectorAll('dialog .member-row').length === 3`)
	a.clickJS(t, `dialog button[aria-label="Remove Carol Diaz"]`)
	a.waitJS(t, "confirm removal", `document.querySelectorAll('dialog').length === 2 && document.querySelector('dialog:last-of-type .btn-danger')`)
	a.clickJS(t, `dialog:last-of-type .btn-danger`)
	a.waitJS(t, "carol removed", `document.querySelectorAll('dialog .member-row').length === 2`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), "dav"))
	a.waitJS(t, "dave found", `[...document.querySelectorAll('dialog .pick')].some(e => e.textContent.includes('@dave'))`)
	a.clickJS(t, `dialog .pick`)
	a.waitJS(t, "dave added", `document.querySelectorAll('dialog .member-row').length === 3 && document.querySelector('dialog').textContent.includes('Dave Okafor')`)
	// Rename the group from the same dialog.
	eval[bool](t, a, `(() => { const i = document.querySelector('dialog form.about input'); i.value = 'Weekend trip ⛺'; return true })()`)
	a.clickJS(t, `dialog form.about button[type=submit]`)
	a.waitJS(t, "renamed", `document.querySelector('.chat-title')?.textContent === 'Weekend trip ⛺' && [...document.querySelectorAll('.conv-item')].some(e => e.textContent.includes('Weekend trip ⛺'))`)
	eval[bool](t, a, `(document.querySelector('dialog').close(), true)`)
	a.waitJS(t, "rename in history", `[...document.querySelectorAll('.msg-system')].some(e => e.textContent === 'You renamed the conversation to “Weekend trip ⛺”')`)
	a.waitJS(t, "membership history", `(() => { const t = [...document.querySelectorAll('.msg-system')].map(e => e.textContent); return t.includes('You removed Carol Diaz') && t.includes('You added Dave Okafor') })()`)
	if _, err := carol.History(ctx, groupID, client.HistoryQuery{}); err == nil {
		t.Error("a removed member can still read the group")
	}

	// A new public channel with a topic.
	a.do(t, chromedp.Click(chromedp.CSS(`.new-btn`)))
	a.do(t, chromedp.Click(chromedp.CSS(`.menu-item:nth-child(3)`)))
	a.waitJS(t, "channel dialog", `document.querySelector('dialog h2')?.textContent === 'New channel'`)
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog form input`), "announcements"),
		chromedp.SendKeys(chromedp.CSS(`dialog form .field:nth-of-type(2) input`), "News for everyone"),
		chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)))
	a.waitJS(t, "channel open", `document.querySelector('.chat-title')?.textContent === 'announcements' && document.querySelector('.chat-sub')?.textContent === 'Public channel · 1 member · News for everyone'`)
	if page, err := dave.Channels(ctx, "announce", "", 10); err != nil || len(page.Channels) != 1 {
		t.Errorf("new channel not public: %+v %v", page, err)
	}
	a.do(t, chromedp.Click(chromedp.CSS(`.conv-item[data-id="`+groupID+`"]`)))
	a.waitJS(t, "back in the group", `document.querySelector('.chat-title')?.textContent === 'Weekend trip ⛺'`)

	// Phone width: one pane at a time, with a back button.
	a.do(t, chromedp.EmulateViewport(390, 780))
	a.waitJS(t, "phone layout", `getComputedStyle(document.querySelector('.sidebar')).display === 'none' && getComputedStyle(document.querySelector('.back-btn')).display !== 'none'`)
	eval[bool](t, a, `(window.parley.applyTheme('dark'), true)`)
	saveScreenshot(t, a, false, "phone-dark")
	eval[bool](t, a, `(window.parley.applyTheme('system'), true)`)
	a.do(t, chromedp.Click(chromedp.CSS(`.back-btn`)))
	a.waitJS(t, "list pane", `getComputedStyle(document.querySelector('.sidebar')).display !== 'none' && getComputedStyle(document.querySelector('.main')).display === 'none'`)

	for _, e := range a.jsErrors() {
		t.Errorf("JavaScript error: %s", e)
	}
	_, _ = bobU, carolU
}
