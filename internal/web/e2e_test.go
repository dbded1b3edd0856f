package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parley-chat/parley/internal/apitest"
)

// cutProxy forwards TCP to the server and can cut every connection at once
// and refuse new ones: the browser behind it goes "offline" for real (its
// WebSocket and fetches fail) while the other browser stays connected.
type cutProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	offline bool
	conns   map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.setOffline(true) })
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.offline {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(c, up)
		go pipe(up, c)
	}
}

func (p *cutProxy) setOffline(off bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offline = off
	if off {
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// register signs a new user up through the UI.
func register(t *testing.T, tb *tab, base, username, display string) {
	t.Helper()
	tb.do(t, chromedp.Navigate(base+"/register"))
	tb.waitJS(t, "register form", `document.querySelector('input[name=username]')`)
	tb.do(t,
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=display_name]`), display),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	tb.waitJS(t, username+" signed in", `document.querySelector('.shell') && window.parley && window.parley.store.me`)
	tb.waitJS(t, username+" connected", `document.documentElement.dataset.conn === 'online'`)
}

// send types body into the open conversation's composer and presses Enter.
func send(t *testing.T, tb *tab, body string) {
	t.Helper()
	tb.do(t, chromedp.Focus(chromedp.CSS(`.composer textarea`)))
	eval[bool](t, tb, `(() => { const ta = document.querySelector('.composer textarea'); ta.value = `+js(body)+`; ta.dispatchEvent(new Event('input')); return true })()`)
	tb.do(t, pressEnter())
}

// msgBodies returns the text of every message body in the open conversation.
func msgBodies(t *testing.T, tb *tab) []string {
	return eval[[]string](t, tb, `[...document.querySelectorAll('.msg-list .msg .body')].map(e => e.textContent)`)
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestBrowserChat drives two users in two isolated browser contexts against
// an in-process server: register, direct chat both ways in real time, read
// ticks, typing, reactions, replies, edits, an offline spell with queued
// messages (none lost, none doubled) and hostile content that must stay text.
func TestBrowserChat(t *testing.T) {
	env := apitest.Start(t, nil) // started first so the browser tabs close before it shuts down
	a := newTab(t)
	if r, err := http.Get(env.URL + "/api/v1/conversations"); err != nil || r.StatusCode == http.StatusNotFound {
		t.Skip("the conversations API is not in this build yet")
	}
	proxy := newCutProxy(t, strings.TrimPrefix(env.URL, "http://"))
	b := newTab(t)

	hostileName := `<img src=x onerror="window.__pwned='name'">Bob`
	register(t, a, env.URL, "alice", "Alice Liddell")
	register(t, b, proxy.URL(), "bob", hostileName)

	// Alice starts a direct chat with Bob by searching his username.
	a.do(t, chromedp.Click(chromedp.CSS(`.new-btn`)))
	a.do(t, chromedp.Click(chromedp.CSS(`.menu-item`)))
	a.do(t, chromedp.SendKeys(chromedp.CSS(`dialog input[type=search]`), "bo"))
	a.waitJS(t, "bob in search results", `[...document.querySelectorAll('dialog .pick')].some(e => e.textContent.includes('@bob'))`)
	a.clickJS(t, `dialog .pick`)
	a.waitJS(t, "direct chat open", `location.pathname.startsWith('/c/') && document.querySelector('.chat-title')?.textContent === `+js(hostileName))

	// Alice → Bob, in real time.
	send(t, a, "Hello Bob")
	a.waitJS(t, "own message acked", `[...document.querySelectorAll('.msg.mine')].some(e => e.textContent.includes('Hello Bob') && e.querySelector('.tick-sent, .tick-delivered, .tick-read'))`)
	b.waitJS(t, "conversation with unread badge", `document.querySelector('.conv-item.has-unread .badge')?.textContent === '1'`)
	b.do(t, chromedp.Click(chromedp.CSS(`.conv-item`)))
	b.waitJS(t, "message shown to bob", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'Hello Bob')`)
	a.waitJS(t, "read tick", `[...document.querySelectorAll('.msg.mine')].some(e => e.textContent.includes('Hello Bob') && e.querySelector('.tick-read'))`)

	// Typing indicator, then Bob → Alice.
	b.do(t, chromedp.Focus(chromedp.CSS(`.composer textarea`)), chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "Hi Ali"))
	a.waitJS(t, "typing indicator", `document.querySelector('.typing-line')?.textContent.includes('typing')`)
	b.do(t, chromedp.SendKeys(chromedp.CSS(`.composer textarea`), "ce"), pressEnter())
	a.waitJS(t, "bob's reply in real time", `[...document.querySelectorAll('.msg:not(.mine) .body')].some(e => e.textContent === 'Hi Alice')`)
	a.waitJS(t, "typing cleared by the message", `!document.querySelector('.typing-line')?.textContent.includes('typing')`)

	// Reaction: Alice reacts 👍 to Bob's message; Bob sees it.
	eval[bool](t, a, `(() => { const m = [...document.querySelectorAll('.msg:not(.mine)')].find(e => e.textContent.includes('Hi Alice')); m.querySelector('.tool-emoji').click(); return true })()`)
	b.waitJS(t, "reaction seen by bob", `[...document.querySelectorAll('.msg.mine')].some(e => e.textContent.includes('Hi Alice') && e.querySelector('.reaction')?.textContent === '👍1')`)
	a.waitJS(t, "reaction pressed for alice", `document.querySelector('.reaction.mine[aria-pressed=true]')`)

	// Reply: Bob replies to "Hello Bob"; Alice sees the quote.
	eval[bool](t, b, `(() => { const m = [...document.querySelectorAll('.msg:not(.mine)')].find(e => e.textContent.includes('Hello Bob')); m.querySelector('[aria-label=Reply]').click(); return true })()`)
	b.waitJS(t, "reply bar", `document.querySelector('.compose-bar')?.textContent.includes('Replying to')`)
	send(t, b, "Replying to you")
	a.waitJS(t, "quoted reply", `[...document.querySelectorAll('.msg:not(.mine)')].some(e => e.querySelector('.quote')?.textContent.includes('Hello Bob') && e.textContent.includes('Replying to you'))`)

	// Edit: Alice presses Up in the empty composer to edit her last message.
	a.do(t, chromedp.Focus(chromedp.CSS(`.composer textarea`)), chromedp.KeyEvent(kbUp))
	a.waitJS(t, "edit mode", `document.querySelector('.compose-bar')?.textContent.includes('Editing')`)
	eval[bool](t, a, `(() => { const ta = document.querySelector('.composer textarea'); ta.value = 'Hello Bob, edited'; ta.dispatchEvent(new Event('input')); return true })()`)
	a.do(t, pressEnter())
	b.waitJS(t, "edit seen by bob", `[...document.querySelectorAll('.msg:not(.mine)')].some(e => e.querySelector('.body')?.textContent === 'Hello Bob, edited' && e.querySelector('.edited'))`)

	// Offline: Bob's network is cut. He writes two messages, Alice writes one.
	proxy.setOffline(true)
	b.waitJS(t, "bob sees he is offline", `document.documentElement.dataset.conn === 'offline' && document.querySelector('.conn-offline')`)
	send(t, b, "queued one")
	send(t, b, "queued two")
	b.waitJS(t, "two pending messages", `document.querySelectorAll('.msg.status-pending').length === 2`)
	queued := eval[int](t, b, `JSON.parse(localStorage.getItem('parley.outbox.' + window.parley.store.me.id)).length`)
	if queued != 2 {
		t.Fatalf("outbox in localStorage holds %d entries, want 2", queued)
	}
	send(t, a, "while you were away")
	eval[bool](t, a, `(() => { const m = [...document.querySelectorAll('.msg:not(.mine)')].find(e => e.textContent.includes('Replying to you')); m.querySelector('[aria-label="React ❤️"]').click(); return true })()`)
	a.waitJS(t, "reaction while bob is away", `[...document.querySelectorAll('.reaction.mine')].some(e => e.textContent === '❤️1')`)
	proxy.setOffline(false)
	eval[bool](t, b, `(window.parley.rt.reconnectNow(), true)`)
	b.waitJS(t, "bob back online", `document.documentElement.dataset.conn === 'online'`)
	// The reconnect named bob's positions (since): ready carried the message he missed.
	b.waitJS(t, "missed message carried by ready", `(window.parley.rt.ready.messages || []).some(m => m.body === 'while you were away')`)
	b.waitJS(t, "queue drained", `document.querySelectorAll('.msg.status-pending').length === 0 && window.parley.rt.outbox.length === 0`)
	b.waitJS(t, "missed message fetched", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'while you were away')`)
	b.waitJS(t, "reaction made while offline", `[...document.querySelectorAll('.msg.mine')].some(e => e.textContent.includes('Replying to you') && e.querySelector('.reaction')?.textContent === '❤️1')`)
	a.waitJS(t, "queued messages arrive", `(() => { const t = [...document.querySelectorAll('.msg .body')].map(e => e.textContent); return t.includes('queued one') && t.includes('queued two') })()`)

	// Hostile content stays text.
	hostile := []string{
		`<img src=x onerror="window.__pwned='img'">`,
		`<script>window.__pwned='script'</script>`,
		`[click](javascript:window.__pwned='link') javascript:window.__pwned='bare'`,
		`see https://example.com/a?b=1&c=<x> ok`,
	}
	for _, h := range hostile {
		send(t, a, h)
	}
	b.waitJS(t, "hostile messages rendered", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent.startsWith('see https://example.com'))`)

	for _, tb := range []*tab{a, b} {
		bodies := msgBodies(t, tb)
		for _, want := range []string{"Hello Bob, edited", "Hi Alice", "Replying to you", "queued one", "queued two", "while you were away", hostile[0], hostile[1], hostile[2], hostile[3]} {
			if n := count(bodies, want); n != 1 {
				t.Errorf("message %q shown %d times, want exactly once; all: %q", want, n, bodies)
			}
		}
		pwned := eval[string](t, tb, `String(window.__pwned)`)
		if pwned != "undefined" {
			t.Errorf("hostile content executed: window.__pwned = %s", pwned)
		}
		if n := eval[int](t, tb, `document.querySelectorAll('.msg-list img, .msg-list script, .sidebar img, .chat-head img').length`); n != 0 {
			t.Errorf("%d elements injected from user content", n)
		}
		links := eval[[]string](t, tb, `[...document.querySelectorAll('.msg-list a')].map(a => a.protocol + '|' + a.rel + '|' + a.target)`)
		if len(links) != 1 || links[0] != "https:|noopener noreferrer nofollow ugc|_blank" {
			t.Errorf("links in messages: %q (want only the https one, rel noopener)", links)
		}
	}
	// The order on both sides matches the server's seq order.
	order := func(tb *tab) string {
		return strings.Join(eval[[]string](t, tb, `[...document.querySelectorAll('.msg-list .msg')].map(e => e.dataset.seq)`), ",")
	}
	if oa, ob := order(a), order(b); oa != ob {
		t.Errorf("message order differs: alice %s, bob %s", oa, ob)
	}

	// No JavaScript errors, apart from the network errors of the cut.
	for name, tb := range map[string]*tab{"alice": a, "bob": b} {
		for _, e := range tb.jsErrors() {
			if strings.Contains(e, "net::ERR") || strings.Contains(e, "WebSocket") || strings.Contains(e, "Failed to load resource") {
				continue
			}
			t.Errorf("%s: JavaScript error: %s", name, e)
		}
	}

	saveScreenshot(t, a, false, "alice")
}

const kbUp = kb.ArrowUp

// pressEnter presses Enter the way a keyboard does: one cancellable keyDown
// carrying the text, then keyUp. (chromedp.KeyEvent sends the character as a
// separate event that preventDefault on keydown cannot stop.)
func pressEnter() chromedp.Action[chromedp.Void] { return pressEnterMod(0) }

// pressEnterMod presses Enter with modifiers (8: Shift).
func pressEnterMod(modifiers int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ev := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", Modifiers: modifiers,
			Text: "\r", UnmodifiedText: "\r", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
			return err
		}
		ev.Type, ev.Text, ev.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev)
		return err
	})
}

// saveScreenshot writes the page to the test's temp dir, to
// $PARLEY_SCREENSHOT_DIR/<test>.png when set, and — for docs — to
// docs/screenshot.png when PARLEY_UPDATE_SCREENSHOT=1.
func saveScreenshot(t *testing.T, tb *tab, docs bool, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := filepath.Join(t.TempDir(), name+".png")
	if docs && os.Getenv("PARLEY_UPDATE_SCREENSHOT") == "1" {
		out = filepath.Join("..", "..", "docs", "screenshot.png")
	}
	if dir := os.Getenv("PARLEY_SCREENSHOT_DIR"); dir != "" {
		out = filepath.Join(dir, fmt.Sprintf("%s-%s.png", t.Name(), name))
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}
