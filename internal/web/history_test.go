package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// TestBrowserHistory: a remembered session opens the app without signing in;
// a long history opens at the newest page with "Jump to first unread", which
// loads back to the first unread message; scrolling up loads the rest
// (every seq exactly once, in order); consecutive messages are grouped;
// deleting leaves a tombstone; every control has an accessible name.
func TestBrowserHistory(t *testing.T) {
	env := apitest.Start(t, nil)
	if r, err := http.Get(env.URL + "/api/v1/conversations"); err != nil || r.StatusCode == http.StatusNotFound {
		t.Skip("the conversations API is not in this build yet")
	}
	a := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	named(t, bob, "Bob Chen", "")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var last parley.Message
	for i := 1; i <= 20; i++ {
		last = sdkSend(t, alice, dm.ID, fmt.Sprintf("a%d", i), fmt.Sprintf("alice %d", i), 0)
	}
	if _, err := alice.MarkRead(ctx, dm.ID, last.Seq); err != nil {
		t.Fatal(err)
	}
	firstUnread := last.Seq + 1
	for i := 1; i <= 90; i++ {
		last = sdkSend(t, bob, dm.ID, fmt.Sprintf("b%d", i), fmt.Sprintf("bob %d", i), 0)
	}

	// Remembered session: the token in localStorage is enough.
	a.do(t, chromedp.Navigate(env.URL+"/login"))
	a.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
	eval[bool](t, a, `(localStorage.setItem('parley.token', `+js(alice.Token())+`), true)`)
	a.do(t, chromedp.Navigate(env.URL+"/c/"+dm.ID))
	a.waitJS(t, "conversation opened from the URL", `document.querySelector('.chat-title')?.textContent === 'Bob Chen' && document.querySelectorAll('.msg').length >= 50`)
	if n := eval[int](t, a, `document.querySelectorAll('.msg').length`); n >= int(last.Seq) {
		t.Fatalf("whole history (%d) loaded at once; want the newest page only", n)
	}

	// Jump to the first unread message.
	a.waitJS(t, "jump button", `document.querySelector('.jump-unread:not([hidden])')`)
	a.do(t, chromedp.Click(chromedp.CSS(`.jump-unread`)))
	a.waitJS(t, "unread divider before the first unread", `document.getElementById('unread-sep')?.nextElementSibling?.dataset.seq === '`+fmt.Sprint(firstUnread)+`'`)

	// Scroll back to the beginning.
	for i := 0; i < 20; i++ {
		if eval[bool](t, a, `!document.querySelector('.beginning').hidden`) {
			break
		}
		eval[bool](t, a, `(document.querySelector('.msg-scroll').scrollTop = 0, true)`)
		a.do(t, chromedp.Sleep(100e6))
	}
	a.waitJS(t, "beginning reached", `!document.querySelector('.beginning').hidden`)
	seqs := eval[[]string](t, a, `[...document.querySelectorAll('.msg-list [data-seq]')].map(e => e.dataset.seq)`)
	if len(seqs) != int(last.Seq) {
		t.Fatalf("%d rows for %d messages", len(seqs), last.Seq)
	}
	for i, s := range seqs {
		if s != fmt.Sprint(i+1) {
			t.Fatalf("row %d has seq %s; rows must be 1..%d in order", i, s, last.Seq)
		}
	}
	if n := eval[int](t, a, `document.querySelectorAll('.msg.cont').length`); n < 100 {
		t.Errorf("only %d grouped (continued) messages", n)
	}
	if n := eval[int](t, a, `document.querySelectorAll('.day-sep').length`); n != 1 {
		t.Errorf("%d day separators, want 1", n)
	}

	// Delete one of Alice's messages: a tombstone remains, for Bob too.
	eval[bool](t, a, `(document.querySelector('#m-3 [aria-label=Delete]').click(), true)`)
	a.waitJS(t, "confirm", `document.querySelector('dialog .btn-danger')`)
	a.clickJS(t, `dialog .btn-danger`)
	a.waitJS(t, "tombstone", `document.querySelector('#m-3.deleted .tombstone')?.textContent === 'This message was deleted'`)
	m, err := bob.Message(ctx, dm.ID, 3)
	if err != nil || !m.Deleted {
		t.Errorf("message 3 for bob: %+v, %v", m, err)
	}

	// Accessibility: every control has a name.
	unnamed := eval[[]string](t, a, `[...document.querySelectorAll('button, input, textarea, a[href], [role=toolbar], [role=log]')].filter(e => {
		const name = e.getAttribute('aria-label') || e.getAttribute('title') || (e.labels && e.labels.length) || e.textContent.trim() || e.getAttribute('placeholder');
		return !name;
	}).map(e => e.outerHTML.slice(0, 120))`)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}
	// Profile: a new display name shows at once; then sign out. The settings
	// list the signed-in devices (the browser shares alice's SDK session); another
	// session can be signed out from here.
	other := env.Client()
	if _, err := other.Login(ctx, "alice", apitest.Password); err != nil {
		t.Fatal(err)
	}
	a.do(t, chromedp.Click(chromedp.CSS(`.me`)))
	a.waitJS(t, "settings", `document.querySelector('dialog .segmented')`)
	a.waitJS(t, "sessions listed", `document.querySelectorAll('dialog .session-row').length === 2 && document.querySelector('dialog .session-row .role-tag')?.textContent === 'this device'`)
	eval[bool](t, a, `(document.querySelector('dialog .session-row button').click(), true)`)
	a.waitJS(t, "one session fewer", `document.querySelectorAll('dialog .session-row').length === 1`)
	if _, err := other.Me(ctx); err == nil {
		t.Error("the revoked session still works")
	}
	eval[bool](t, a, `(() => { const i = document.querySelector('dialog input'); i.value = 'Alice Liddell'; return true })()`)
	a.clickJS(t, `dialog button[type=submit]`)
	a.waitJS(t, "new name", `document.querySelector('.me-name')?.textContent === 'Alice Liddell' && !document.querySelector('dialog')`)
	if u, err := alice.Me(ctx); err != nil || u.DisplayName != "Alice Liddell" {
		t.Errorf("profile not saved: %+v %v", u, err)
	}
	a.do(t, chromedp.Click(chromedp.CSS(`.me`)))
	a.waitJS(t, "settings again", `document.querySelector('dialog .btn-danger-ghost')`)
	a.clickJS(t, `dialog .btn-danger-ghost`)
	a.waitJS(t, "signed out", `location.pathname === '/login' && !localStorage.getItem('parley.token') && document.querySelector('input[name=username]')`)
	if _, err := alice.Me(ctx); err == nil {
		t.Error("the token still works after signing out")
	}

	for _, e := range a.jsErrors() {
		t.Errorf("JavaScript error: %s", e)
	}
}

// TestBrowserAttachment: a picked image uploads, goes out with the message
// (over the WebSocket with attachment_ids, same outbox), and shows as a
// thumbnail on the other side.
func TestBrowserAttachment(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.MaxFileBytes = 64 << 10 })
	if r, err := http.Get(env.URL + "/api/v1/attachments/x"); err != nil || r.StatusCode == http.StatusNotFound && r.Header.Get("Content-Type") == "" {
		t.Skip("attachments are not in this build")
	}
	a := newTab(t)
	b := newTab(t)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		tb *tab
		c  *client.Client
	}{{a, alice}, {b, bob}} {
		p.tb.do(t, chromedp.Navigate(env.URL+"/login"))
		p.tb.waitJS(t, "login page", `document.querySelector('input[name=username]')`)
		eval[bool](t, p.tb, `(localStorage.setItem('parley.token', `+js(p.c.Token())+`), true)`)
		p.tb.do(t, chromedp.Navigate(env.URL+"/c/"+dm.ID))
		p.tb.waitJS(t, "open", `document.documentElement.dataset.conn === 'online' && document.querySelector('.composer textarea')`)
	}
	// A 64×48 PNG drawn on a canvas, attached through the composer.
	// The chip goes uploading (progress bar) → done ("Uploaded", bar full).
	eval[bool](t, a, `(() => { window.__states = []; const ul = document.querySelector('.compose-files');
		new MutationObserver(() => { for (const c of ul.querySelectorAll('.file-chip')) window.__states.push(c.dataset.state + ':' + c.querySelector('progress').value) })
			.observe(ul, { subtree: true, childList: true, attributes: true, characterData: true }); return true })()`)
	eval[bool](t, a, `new Promise(r => { const c = document.createElement('canvas'); c.width = 64; c.height = 48; const g = c.getContext('2d'); g.fillStyle = '#4f46e5'; g.fillRect(0, 0, 64, 48);
		c.toBlob(b => { window.parley.chat.composer.addFiles([new File([b], 'pic <b>1</b>.png', { type: 'image/png' })]); r(true) }, 'image/png') })`)
	a.waitJS(t, "uploaded", `document.querySelector('.file-chip[data-state=done]')`)
	if got := eval[string](t, a, `(() => { const c = document.querySelector('.file-chip'); return c.querySelector('progress').value + ' ' + c.querySelector('.file-status').textContent })()`); got != "100 Uploaded" {
		t.Errorf("finished chip shows %q, want progress 100 and Uploaded", got)
	}
	if ok := eval[bool](t, a, `window.__states.some(s => s.startsWith('uploading:')) && window.__states.at(-1) === 'done:100'`); !ok {
		t.Errorf("chip states %v, want uploading… then done:100", eval[[]string](t, a, `window.__states`))
	}
	// A second file cancelled while it uploads: its chip goes and the
	// message carries only the picture.
	eval[bool](t, a, `(() => { window.parley.chat.composer.addFiles([new File([new Uint8Array(256 << 10)], 'cancel-me.bin', { type: 'application/octet-stream' })]);
		const c = [...document.querySelectorAll('.file-chip')].find(c => c.textContent.includes('cancel-me'));
		if (!c || c.dataset.state !== 'uploading') return false;
		c.querySelector('button[aria-label="Cancel upload of cancel-me.bin"]').click(); return true })()`)
	if n := eval[int](t, a, `[...document.querySelectorAll('.file-chip')].filter(c => c.textContent.includes('cancel-me')).length`); n != 0 {
		t.Errorf("%d chips left for the cancelled upload", n)
	}
	// A file over the size limit fails with the reason on its chip.
	eval[bool](t, a, `(window.parley.chat.composer.addFiles([new File([new Uint8Array(100 << 10)], 'too-big.bin')]), true)`)
	a.waitJS(t, "upload failed", `document.querySelector('.file-chip.error[data-state=error]')`)
	got := eval[string](t, a, `document.querySelector('.file-chip.error .file-status').textContent`)
	if !strings.HasPrefix(got, "Upload failed: ") || len(got) < len("Upload failed: ")+5 {
		t.Errorf("failed chip says %q, want the reason", got)
	}
	send(t, a, "a picture")
	b.waitJS(t, "thumbnail shown to bob", `(() => { const i = document.querySelector('.msg .att-img'); return i && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:') })()`)
	// Clicking the thumbnail opens the viewer with the full image, its name
	// and a download link; focus moves in, Escape closes it, focus returns.
	b.do(t, chromedp.Click(chromedp.CSS(`.msg .att-image`)))
	b.waitJS(t, "viewer open", `(() => { const i = document.querySelector('dialog.viewer[open] .viewer-img'); return i && i.complete && i.naturalWidth === 64 && i.naturalHeight === 48 })()`)
	if got := eval[string](t, b, `(() => { const d = document.querySelector('dialog.viewer'); const i = d.querySelector('.viewer-img'), l = d.querySelector('a.viewer-download');
		return [d.contains(document.activeElement), i.src.startsWith('blob:'), i.src !== document.querySelector('.msg .att-img').src, l.href === i.src && !l.hidden,
			d.querySelector('h2').textContent === i.alt, l.getAttribute('download') === i.alt, i.alt === document.querySelector('.msg .att-img').alt].join('|') })()`); got != "true|true|true|true|true|true|true" {
		t.Errorf("viewer: %q (focus inside|blob|content not thumbnail|download link|title, download and alt are the name)", got)
	}
	b.do(t, pressKey("Escape", 27))
	b.waitJS(t, "viewer closed", `!document.querySelector('dialog.viewer')`)
	if !eval[bool](t, b, `document.activeElement === document.querySelector('.msg .att-image')`) {
		t.Error("focus did not return to the thumbnail after closing the viewer")
	}
	ms, err := bob.History(ctx, dm.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var atts []parley.Attachment
	for _, m := range ms {
		atts = append(atts, m.Attachments...)
	}
	if len(atts) != 1 || atts[0].Width != 64 {
		t.Fatalf("attachments stored %+v, want only the picture (the cancelled file is not sent)", atts)
	}
	if alt := eval[string](t, b, `document.querySelector('.msg .att-img').alt`); alt != atts[0].Name {
		t.Errorf("image alt %q, stored name %q", alt, atts[0].Name)
	}
	if n := eval[int](t, b, `document.querySelectorAll('.msg-list b').length`); n != 0 {
		t.Errorf("file name injected markup")
	}
	for _, tb := range []*tab{a, b} {
		for _, e := range tb.jsErrors() {
			if tb == a && strings.Contains(e, "status of 413") {
				continue // the browser logs the refused too-big upload
			}
			t.Errorf("JavaScript error: %s", e)
		}
	}
}

// pressKey presses and releases a non-text key (Escape: "Escape", 27).
func pressKey(key string, code int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ev := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: key, Code: key, WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
			return err
		}
		ev.Type = input.DispatchKeyEventTypeKeyUp
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev)
		return err
	})
}
