package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// Browser tests for the web client fixes of the browser pass (issue 17,
// finding 6). Screenshots go to PARLEY_SCREENSHOT_DIR when it is set.

// signInAs opens path in tb signed in as c (token in localStorage).
func signInAs(t *testing.T, tb *tab, base string, c *client.Client, path string) {
	t.Helper()
	tb.do(t, chromedp.Navigate(base+"/login"))
	tb.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
	eval[bool](t, tb, `(localStorage.setItem('parley.token', `+js(c.Token())+`), true)`)
	tb.do(t, chromedp.Navigate(base+path))
	tb.waitJS(t, "signed in", `document.documentElement.dataset.conn === 'online' && document.querySelector('.shell')`)
}

// goOnline keeps a real-time session of c open for the test.
func goOnline(t *testing.T, c *client.Client) *client.Realtime {
	t.Helper()
	rt, err := c.Connect(context.Background(), client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

// overlapJS is a JavaScript function overlap(a, b) telling whether two
// elements' boxes intersect.
const overlapJS = `const overlap = (a, b) => { const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
	return r.width > 0 && s.width > 0 && r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom };`

// TestBrowserPresenceVisible: an online person shows a green dot in the
// new-chat search (they share a group) and in a direct chat that arrives
// live, without opening it; going offline turns the dot grey. A stranger's
// presence is not known, so no dot (rather than a misleading grey one).
func TestBrowserPresenceVisible(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	carol, _ := env.NewUser(t, "carol")
	named(t, carol, "Carol Diaz", "")
	_, _ = env.NewUser(t, "dave")
	if _, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Team", MemberIDs: []string{bobU.ID}}); err != nil {
		t.Fatal(err)
	}
	goOnline(t, bob)
	crt := goOnline(t, carol)

	signInAs(t, a, env.URL, alice, "/")
	a.do(t, chromedp.Click(chromedp.CSS(`.new-btn`)))
	a.do(t, chromedp.Click(chromedp.CSS(`.menu-item:nth-child(1)`)))
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), "bob"))
	a.waitJS(t, "bob found online", `[...document.querySelectorAll('dialog .pick')].some(e => e.textContent.includes('@bob') && e.querySelector('.presence.online'))`)
	saveScreenshot(t, a, false, "search-online")
	// A stranger: no presence is known, so no dot at all.
	eval[bool](t, a, `(() => { const i = document.querySelector('dialog input[type=search]'); i.value = 'dave'; i.dispatchEvent(new Event('input')); return true })()`)
	a.waitJS(t, "dave found", `[...document.querySelectorAll('dialog .pick')].some(e => e.textContent.includes('@dave'))`)
	if n := eval[int](t, a, `document.querySelectorAll('dialog .pick .presence.online, dialog .pick .presence.offline').length`); n != 0 {
		t.Errorf("a stranger shows %d presence dots", n)
	}
	eval[bool](t, a, `(document.querySelector('dialog').close(), true)`)

	// Carol writes first: her direct chat arrives live and shows her online.
	dm, _, err := carol.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{eval[string](t, a, `window.parley.store.me.id`)}})
	if err != nil {
		t.Fatal(err)
	}
	sdkSend(t, carol, dm.ID, "c1", "Hi Alice!", 0)
	a.waitJS(t, "carol's chat online", `document.querySelector('.conv-item[data-id="`+dm.ID+`"] .presence.online')`)
	saveScreenshot(t, a, false, "live-chat-online")
	_ = crt.Close()
	a.waitJS(t, "carol offline", `document.querySelector('.conv-item[data-id="`+dm.ID+`"] .presence.offline')`)
	for _, e := range a.jsErrors() {
		t.Errorf("JavaScript error: %s", e)
	}
}

// tap dispatches a touch tap at the centre of the first element matching sel.
func tap(t *testing.T, tb *tab, sel string) {
	t.Helper()
	pt := eval[[]float64](t, tb, `(() => { const e = document.querySelector(`+js(sel)+`); e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + Math.min(r.height / 2, 12)] })()`)
	tb.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		p := []*input.TouchPoint{{X: pt[0], Y: pt[1]}}
		if _, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: p}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return err
	}))
}

// visibleToolsJS lists the seqs of the messages whose toolbar is visible,
// and whether any visible toolbar covers a message bubble.
const visibleToolsJS = `(() => { ` + overlapJS + `
	const vis = [...document.querySelectorAll('.msg-tools')].filter(e => { const s = getComputedStyle(e); return s.visibility === 'visible' && s.display !== 'none' && +s.opacity > 0.5 });
	const bubbles = [...document.querySelectorAll('.msg .bubble, .msg .reactions')];
	return { seqs: vis.map(e => e.closest('.msg').dataset.seq), covers: vis.some(v => bubbles.some(b => overlap(v, b))) } })()`

type toolsState struct {
	Seqs   []string `json:"seqs"`
	Covers bool     `json:"covers"`
}

// TestBrowserMessageToolbar: the hover toolbar sits beside the message and
// covers no message text; at phone width a tap opens one toolbar (only one
// at a time), and a tap elsewhere closes it.
func TestBrowserMessageToolbar(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Trip", MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sdkSend(t, bob, g.ID, "b1", "Where should we go this summer? I was thinking about the mountains, or maybe the coast if the weather is good. What do you all think about it?", 0)
	sdkSend(t, alice, g.ID, "a1", "Mountains, definitely. I have new boots to try out and the coast will be crowded in August anyway.", 0)
	sdkSend(t, bob, g.ID, "b2", "Deal.", 0)
	sdkSend(t, alice, g.ID, "a2", "👍", 0)
	signInAs(t, a, env.URL, alice, "/c/"+g.ID)
	a.waitJS(t, "messages", `document.querySelectorAll('.msg .body').length === 4`)

	hover := func(seq string) {
		pt := eval[[]float64](t, a, `(() => { const r = document.querySelector('#m-`+seq+` .bubble').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2] })()`)
		a.do(t, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pt[0], pt[1]))
	}
	for _, seq := range []string{"2", "3", "4", "5"} {
		hover(seq)
		a.waitJS(t, "toolbar of "+seq, `(() => { const s = `+visibleToolsJS+`; return s.seqs.length === 1 && s.seqs[0] === '`+seq+`' })()`)
		if s := eval[toolsState](t, a, visibleToolsJS); s.Covers {
			t.Errorf("desktop: the toolbar of message %s covers a message", seq)
		}
		if seq == "2" {
			saveScreenshot(t, a, false, "toolbar-desktop-theirs")
		}
		if seq == "3" {
			saveScreenshot(t, a, false, "toolbar-desktop-mine")
		}
	}
	// The toolbar is reachable from the keyboard.
	a.do(t, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5))
	eval[bool](t, a, `(document.querySelector('.msg-scroll').focus(), true)`)
	a.do(t, pressKey("ArrowUp", 38))
	a.waitJS(t, "toolbar of the focused message", `document.activeElement?.id === 'm-5' && (`+visibleToolsJS+`).seqs.join() === '5'`)
	a.do(t, pressKey("Tab", 9))
	a.waitJS(t, "tab into the toolbar", `document.activeElement?.closest('#m-5 .msg-tools') && (`+visibleToolsJS+`).seqs.join() === '5'`)
	// A mouse click focuses a row, but only the hovered row shows a toolbar.
	pt := eval[[]float64](t, a, `(() => { const r = document.querySelector('#m-2 .body').getBoundingClientRect(); return [r.left + 20, r.top + 8] })()`)
	a.do(t, chromedp.MouseClickXY(pt[0], pt[1]))
	a.waitJS(t, "clicked row focused", `document.activeElement?.id === 'm-2'`)
	hover("4")
	a.waitJS(t, "one toolbar, the hovered one", `(`+visibleToolsJS+`).seqs.join() === '4'`)
	eval[bool](t, a, `(document.activeElement.blur(), true)`)

	// Phone: touch, no hover.
	a.do(t, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5), chromedp.EmulateViewport(390, 780, chromedp.EmulateTouch, chromedp.EmulateMobile))
	a.waitJS(t, "phone layout", `getComputedStyle(document.querySelector('.sidebar')).display === 'none'`)
	a.waitJS(t, "no toolbar", `(`+visibleToolsJS+`).seqs.length === 0`)
	tap(t, a, `#m-2 .body`)
	a.waitJS(t, "one toolbar after a tap", `(() => { const s = `+visibleToolsJS+`; return s.seqs.length === 1 && s.seqs[0] === '2' })()`)
	saveScreenshot(t, a, false, "toolbar-phone")
	if s := eval[toolsState](t, a, visibleToolsJS); s.Covers {
		t.Error("phone: the toolbar covers a message")
	}
	tap(t, a, `#m-3 .body`)
	a.waitJS(t, "still one toolbar after tapping another message", `(() => { const s = `+visibleToolsJS+`; return s.seqs.length === 1 && s.seqs[0] === '3' })()`)
	if s := eval[toolsState](t, a, visibleToolsJS); s.Covers {
		t.Error("phone: the toolbar covers a message")
	}
	tap(t, a, `.chat-title`)
	a.waitJS(t, "tap elsewhere closes it", `(`+visibleToolsJS+`).seqs.length === 0`)
	// A tool works from the tap-opened toolbar, then the toolbar closes.
	tap(t, a, `#m-2 .body`)
	a.waitJS(t, "open again", `(`+visibleToolsJS+`).seqs.join() === '2'`)
	tap(t, a, `#m-2 [aria-label="Reply"]`)
	a.waitJS(t, "reply started, toolbar closed", `document.querySelector('.compose-bar') && (`+visibleToolsJS+`).seqs.length === 0`)
	for _, e := range a.jsErrors() {
		t.Errorf("JavaScript error: %s", e)
	}
}

// TestBrowserUnreadDivider: in a direct chat someone else started, the
// "New messages" divider comes after "Conversation started", right before
// the first unread message.
func TestBrowserUnreadDivider(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	ctx := context.Background()
	alice, aliceU := env.NewUser(t, "alice")
	bob, _ := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	dm, _, err := bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{aliceU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sdkSend(t, bob, dm.ID, "b1", "Hello Alice", 0)
	sdkSend(t, bob, dm.ID, "b2", "Are you there?", 0)
	signInAs(t, a, env.URL, alice, "/c/"+dm.ID)
	a.waitJS(t, "divider", `document.getElementById('unread-sep') && document.querySelectorAll('.msg .body').length === 2`)
	order := eval[[]string](t, a, `[...document.querySelectorAll('.msg-list > li')].map(e => e.classList.contains('unread-sep') ? 'NEW' : e.classList.contains('msg-system') ? 'SYS:' + e.textContent : e.classList.contains('msg') ? 'MSG:' + e.querySelector('.body').textContent : '')`)
	got := strings.Join(order, "|")
	if !strings.Contains(got, "SYS:Conversation started|NEW|MSG:Hello Alice|MSG:Are you there?") {
		t.Errorf("log order: %s", got)
	}
	saveScreenshot(t, a, false, "divider")
}

// TestBrowserRegisterValidation: the register form checks the server's
// limits before sending (too short, too long, bad username) and shows the
// server's typed refusal next to the field it names.
func TestBrowserRegisterValidation(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	env.NewUser(t, "taken")
	a.do(t, chromedp.Navigate(env.URL+"/register"))
	a.waitJS(t, "register form", `document.querySelector('input[name=username]')`)
	sent := `performance.getEntriesByType('resource').filter(e => e.name.includes('/auth/register')).length`
	fill := func(user, pass string) {
		eval[bool](t, a, `(() => { for (const [n, v] of [['username', `+js(user)+`], ['password', `+js(pass)+`]]) { const i = document.querySelector('input[name=' + n + ']'); i.value = v; i.dispatchEvent(new Event('input')); } return true })()`)
		a.clickJS(t, `button[type=submit]`)
	}
	cases := []struct{ user, pass, field, msg string }{
		{"erin", "short", "password", "at least 8"},
		{"erin", strings.Repeat("x", parley.PasswordMaxLen+1), "password", "at most 256"},
		{"e", "long enough password", "username", "3"},
		{"erin smith", "long enough password", "username", "letters"},
	}
	for _, c := range cases {
		fill(c.user, c.pass)
		a.waitJS(t, c.field+" error for "+c.user, `(() => { const i = document.querySelector('input[name=`+c.field+`]'); const d = document.getElementById(i.getAttribute('aria-describedby')?.split(' ').find(x => x.endsWith('-err')) || 'none');
			return i.getAttribute('aria-invalid') === 'true' && d && d.textContent.includes(`+js(c.msg)+`) && document.activeElement === i })()`)
	}
	if n := eval[int](t, a, sent); n != 0 {
		t.Fatalf("%d register requests were sent for invalid input", n)
	}
	saveScreenshot(t, a, false, "register-short")
	a.do(t, chromedp.EmulateViewport(390, 780))
	saveScreenshot(t, a, false, "register-short-phone")
	a.do(t, chromedp.EmulateViewport(1280, 800))
	// The server's typed refusal lands on the field it names.
	fill("taken", "long enough password")
	a.waitJS(t, "taken", `document.querySelector('input[name=username]').getAttribute('aria-invalid') === 'true' && document.querySelector('.auth-form').textContent.toLowerCase().includes('taken')`)
	// A valid form signs up: "é234567" is 7 characters but 8 bytes, which the
	// server counts, so the client takes it too.
	fill("erin", "é234567")
	a.waitJS(t, "signed up", `document.querySelector('.shell') && window.parley?.store.me?.username === 'erin'`)
}

// TestBrowserToastPlacement: the "Profile saved" toast covers neither the
// composer nor the chat header, at desktop and phone width.
func TestBrowserToastPlacement(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, bobU := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	signInAs(t, a, env.URL, alice, "/c/"+dm.ID)
	for _, w := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 800}, {"phone", 390, 780}} {
		a.do(t, chromedp.EmulateViewport(w.w, w.h))
		a.waitJS(t, "composer", `document.querySelector('.composer textarea')?.offsetWidth > 0`)
		eval[bool](t, a, `(window.parley.openSettings(), true)`)
		a.waitJS(t, "settings", `document.querySelector('dialog[open] form button[type=submit]')`)
		a.clickJS(t, `dialog[open] form button[type=submit]`)
		// Measured as soon as the toast shows (it lives 4 s).
		covers := eval[[]string](t, a, `new Promise(done => { `+overlapJS+`
			const check = () => { const t = [...document.querySelectorAll('.toast')].find(e => e.textContent === 'Profile saved');
				if (!t || document.querySelector('dialog[open]')) { setTimeout(check, 20); return }
				done(['.composer', '.chat-head', '.msg-tools'].filter(s => [...document.querySelectorAll(s)].some(e => overlap(t, e)))) };
			check() })`)
		saveScreenshot(t, a, false, "toast-"+w.name)
		if len(covers) > 0 {
			t.Errorf("%s: the toast covers %v", w.name, covers)
		}
		eval[bool](t, a, `(document.getElementById('toasts').replaceChildren(), true)`)
	}
}

// TestBrowserLeaveAndPicture: the leave button of a group reads as leaving
// (an exit icon, a visible "Leave" label at desktop width, a tooltip and an
// accessible name), and the picture chooser is a styled, keyboard-reachable
// button rather than a bare file control.
func TestBrowserLeaveAndPicture(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, bobU := env.NewUser(t, "bob")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Trip", MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	signInAs(t, a, env.URL, alice, "/c/"+g.ID)
	a.waitJS(t, "header", `document.querySelector('.chat-actions button[aria-label="Leave conversation"]')`)
	leave := eval[map[string]string](t, a, `(() => { const b = document.querySelector('.chat-actions button[aria-label="Leave conversation"]');
		return { title: b.title, text: b.innerText.trim(), icon: b.querySelector('svg').innerHTML } })()`)
	if leave["title"] == "" || leave["text"] != "Leave" {
		t.Errorf("leave button: title %q, visible text %q", leave["title"], leave["text"])
	}
	if strings.Contains(leave["icon"], "M10 17l5-5-5-5") {
		t.Error("leave button still shows the sign-in arrow")
	}
	saveScreenshot(t, a, false, "leave-desktop")
	a.do(t, chromedp.EmulateViewport(390, 780))
	a.waitJS(t, "phone", `getComputedStyle(document.querySelector('.back-btn')).display !== 'none'`)
	saveScreenshot(t, a, false, "leave-phone")
	a.do(t, chromedp.EmulateViewport(1280, 800))

	// The picture chooser: a hidden input behind a real button, reached by Tab.
	eval[bool](t, a, `(() => { window.__chooser = 0; const c = HTMLInputElement.prototype.click;
		HTMLInputElement.prototype.click = function () { if (this.type === 'file') { window.__chooser++; return } return c.call(this) }; window.parley.openSettings(); return true })()`)
	a.waitJS(t, "settings", `document.querySelector('dialog[open] input.avatar-file')`)
	st := eval[map[string]any](t, a, `(() => { const i = document.querySelector('dialog[open] input.avatar-file'); const r = i.getBoundingClientRect();
		return { w: r.width, tab: i.tabIndex, btn: !!document.querySelector('dialog[open] button.picture-btn') } })()`)
	if w, _ := st["w"].(float64); w > 1 {
		t.Errorf("the bare file input is visible (%v px wide)", w)
	}
	if st["btn"] != true {
		t.Fatal("no picture button")
	}
	saveScreenshot(t, a, false, "picture-settings")
	eval[bool](t, a, `(document.querySelector('dialog[open] input[autocomplete=name]').focus(), true)`)
	for i := 0; i < 10 && !eval[bool](t, a, `document.activeElement?.matches('button.picture-btn')`); i++ {
		a.do(t, pressKey("Tab", 9))
	}
	if !eval[bool](t, a, `document.activeElement?.matches('button.picture-btn')`) {
		t.Fatal("the picture button is not reachable with Tab")
	}
	a.do(t, pressEnter())
	a.waitJS(t, "file chooser opened", `window.__chooser === 1`)
	pickPicture(t, a, `dialog[open] input.avatar-file`, "#e11d48")
	a.waitJS(t, "uploaded", `document.querySelector('dialog[open]')?.textContent.includes('Picture updated')`)
	a.do(t, chromedp.EmulateViewport(390, 780))
	saveScreenshot(t, a, false, "picture-settings-phone")
}

// TestBrowserEmojiFont: every emoji of the picker and the quick reactions
// is drawn in colour even on a machine without a colour emoji font (the
// client ships a small subset font); the picker, reactions and message text
// use it.
func TestBrowserEmojiFont(t *testing.T) {
	env := apitest.Start(t, nil)
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Party", MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m := sdkSend(t, bob, g.ID, "b1", "Party on Friday 🎉🥳 bring snacks 🍕", 0)
	if _, err := bob.React(ctx, g.ID, m.Seq, "❤️"); err != nil {
		t.Fatal(err)
	}
	signInAs(t, a, env.URL, alice, "/c/"+g.ID)
	a.waitJS(t, "reaction", `document.querySelector('.reaction')`)
	// The emoji of the list preview, the message and the reaction are drawn
	// with a colour emoji font. (Text laid out before the font arrived kept
	// its boxes: emojifont.js loads it before the first render; checked by
	// eye on screenshots, as the protocol reports the font, not the box.)
	for _, sel := range []string{".conv-item .preview", ".msg .body", ".r-emoji"} {
		if fams := platformFonts(t, a, sel); !strings.Contains(strings.Join(fams, ","), "Parley Emoji") && !strings.Contains(strings.Join(fams, ","), "Color Emoji") {
			t.Errorf("%s is drawn with %q, no colour emoji font", sel, fams)
		}
	}
	eval[bool](t, a, `(document.querySelector('[aria-label="Add reaction"]').click(), true)`)
	a.waitJS(t, "picker", `document.querySelector('.reaction-picker .emoji')`)
	// Draw each emoji with the font the picker uses: each must come out of a
	// colour font.
	bad := eval[[]string](t, a, `(async () => {
		const b = document.querySelector('.reaction-picker .emoji');
		const fam = getComputedStyle(b).fontFamily;
		const list = [...document.querySelectorAll('.reaction-picker .emoji, .msg-tools .tool-emoji')].map(e => e.textContent);
		await document.fonts.ready;
		await Promise.all(list.map(e => document.fonts.load('32px ' + fam, e)));
		const c = document.createElement('canvas'); c.width = c.height = 48;
		const g = c.getContext('2d', { willReadFrequently: true });
		const bad = [];
		for (const e of list) {
			g.clearRect(0, 0, 48, 48); g.font = '32px ' + fam; g.textBaseline = 'middle'; g.fillStyle = '#0f0'; g.fillText(e, 4, 24);
			// A text glyph (a box, or a monochrome symbol) is painted in the
			// fill colour, pure green; a colour emoji keeps its own colours.
			const d = g.getImageData(0, 0, 48, 48).data; let coloured = 0;
			for (let i = 0; i < d.length; i += 4) if (d[i+3] > 128 && (d[i] > 40 || d[i+2] > 40 || d[i+1] < 200)) coloured++;
			if (coloured < 20) bad.push(e);
		}
		return bad })()`)
	if len(bad) > 0 {
		t.Errorf("emoji not drawn in colour: %q", bad)
	}
	for _, sel := range []string{".reaction-picker .emoji", ".r-emoji", ".msg .body", ".composer textarea"} {
		if fam := eval[string](t, a, `getComputedStyle(document.querySelector(`+js(sel)+`)).fontFamily`); !strings.Contains(fam, "Parley Emoji") {
			t.Errorf("%s font-family %q lacks the shipped emoji font", sel, fam)
		}
	}
	saveScreenshot(t, a, false, "emoji-picker")
	a.do(t, chromedp.EmulateViewport(390, 780))
	saveScreenshot(t, a, false, "emoji-phone")
}

// platformFonts lists the fonts Chromium drew the text of the first element
// matching sel with (CSS.getPlatformFontsForNode).
func platformFonts(t *testing.T, tb *tab, sel string) []string {
	t.Helper()
	var fams []string
	tb.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, dom.Enable, dom.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, css.Enable, cdp.Empty{}); err != nil {
			return err
		}
		doc, err := cdp.Call(ctx, tg, dom.GetDocument, dom.GetDocumentParams{})
		if err != nil {
			return err
		}
		n, err := cdp.Call(ctx, tg, dom.QuerySelector, dom.QuerySelectorParams{NodeID: doc.Root.NodeID, Selector: sel})
		if err != nil {
			return err
		}
		r, err := cdp.Call(ctx, tg, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: n.NodeID})
		if err != nil {
			return err
		}
		for _, f := range r.Fonts {
			fams = append(fams, f.FamilyName)
		}
		return nil
	}))
	return fams
}
