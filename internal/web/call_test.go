package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// mediaBrowser starts a Chromium of its own with fake camera and
// microphone (a test pattern and a beep) that grants media permission
// without asking, and lets media play without a user gesture. It is closed
// when the test ends.
func mediaBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("chromium not found (install Debian's chromium package)")
		}
		t.Skip("chromium not installed; skipping browser test")
	}
	dir := t.TempDir()
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 800),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	// The first action starts the browser and binds its life to the context
	// it runs on, so it runs on bctx itself, bounded by a timer instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	var err error
	select {
	case err = <-started:
	case <-time.After(90 * time.Second):
		err = fmt.Errorf("timed out")
	}
	if err != nil {
		bcancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { bcancel(); acancel() })
	return bctx
}

// statsJS evaluates to the bytes of kind ("audio"/"video") received over
// the open call's peer connection.
func statsJS(kind string) string {
	return `(async () => { const c = window.parley?.calls?.current; if (!c?.pc) return 0;
		let n = 0; (await c.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === '` + kind + `') n += r.bytesReceived || 0; });
		return n })()`
}

// waitBytes polls until the call in tb has received media of kind.
func waitBytes(t *testing.T, tb *tab, kind string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n := eval[float64](t, tb, statsJS(kind)); n > 0 {
			return
		}
		if time.Now().After(deadline) {
			state := eval[string](t, tb, `String(window.parley?.calls?.current?.pc?.connectionState)`)
			t.Fatalf("no %s received (connection %s; js errors %v)", kind, state, tb.jsErrors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserCall: two browser contexts (alice and bob) with fake media
// devices complete a video call through the web client: alice calls from
// the direct conversation's header, bob's window rings and he accepts,
// audio and video flow both ways, screen sharing swaps the outgoing video
// track and back, mute and camera off work, the call
// window fits a phone, and hanging up leaves a record in both histories;
// a declined call and one that rings out are told and recorded too.
// The page's strict CSP must hold throughout (no errors in the console).
func TestBrowserCall(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.TURN = "127.0.0.1:0" })
	parent := mediaBrowser(t)
	ac, _ := env.NewUser(t, "alice")
	bc, bu := env.NewUser(t, "bob")
	ctx := context.Background()
	named(t, ac, "Alice", "")
	named(t, bc, "Bob", "")
	conv, _, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bu.ID}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newTabIn(t, parent), newTabIn(t, parent)
	signInAs(t, a, env.URL, ac, "/c/"+conv.ID)
	signInAs(t, b, env.URL, bc, "/")

	// Alice calls; her window says Calling…, Bob's rings.
	a.clickJS(t, `.chat-head button.call-video`)
	a.waitJS(t, "alice calling", `document.querySelector('.call-window[data-state=outgoing]') && /Calling/.test(document.querySelector('.call-status').textContent)`)
	b.waitJS(t, "bob ringing", `document.querySelector('.call-window[data-state=incoming]') && /Alice/.test(document.querySelector('.call-window').textContent) && /Incoming video call/.test(document.querySelector('.call-status').textContent)`)
	saveScreenshot(t, b, false, "call-incoming")
	b.clickJS(t, `.call-window button[aria-label=Accept]`)

	// Connected both ways, with audio and video arriving on each side.
	for _, tb := range []*tab{a, b} {
		tb.waitJS(t, "connected", `document.querySelector('.call-window[data-state=connected]') && document.querySelector('.call-remote') && /^\d+:\d\d$/.test(document.querySelector('.call-status').textContent)`)
		waitBytes(t, tb, "video")
		waitBytes(t, tb, "audio")
		tb.waitJS(t, "remote video shown", `(() => { const v = document.querySelector('video.call-remote'); return v && v.videoWidth > 0 && !v.classList.contains('no-video') })()`)
	}

	// Screen sharing replaces the outgoing video track, and stopping it puts the camera back.
	a.clickJS(t, `.call-window button[aria-label="Share screen"]`)
	a.waitJS(t, "sharing", `(() => { const c = window.parley.calls.current; return c.screen && c.videoSender.track === c.screen && document.querySelector('.call-window button[aria-label="Stop sharing"][aria-pressed=true]') })()`)
	a.clickJS(t, `.call-window button[aria-label="Stop sharing"]`)
	a.waitJS(t, "camera back", `(() => { const c = window.parley.calls.current; return !c.screen && c.videoSender.track === c.local.getVideoTracks()[0] })()`)

	// Mute and camera off act on the local tracks and show as pressed.
	b.clickJS(t, `.call-window button[aria-label=Mute]`)
	b.waitJS(t, "muted", `window.parley.calls.current.local.getAudioTracks()[0].enabled === false && document.querySelector('.call-window button[aria-label=Unmute][aria-pressed=true]')`)
	b.clickJS(t, `.call-window button[aria-label="Turn camera off"]`)
	b.waitJS(t, "camera off", `window.parley.calls.current.local.getVideoTracks()[0].enabled === false && document.querySelector('.call-window button[aria-label="Turn camera on"]')`)
	b.clickJS(t, `.call-window button[aria-label=Unmute]`)
	b.waitJS(t, "unmuted", `window.parley.calls.current.local.getAudioTracks()[0].enabled === true`)

	// At phone width every control is on screen and the window fills it.
	b.do(t, chromedp.EmulateViewport(375, 700))
	b.waitJS(t, "phone layout", `(() => { const w = document.querySelector('.call-window').getBoundingClientRect();
		const bs = [...document.querySelectorAll('.call-window .call-btn')];
		return w.width === 375 && bs.length >= 3 && bs.every((x) => { const r = x.getBoundingClientRect(); return r.left >= 0 && r.right <= 375 && r.bottom <= 700 && r.width >= 44 }) })()`)
	saveScreenshot(t, b, false, "call-phone")

	// Alice hangs up: both windows close and both histories record it.
	a.waitJS(t, "the call's clock runs", `/^0:0[1-9]$/.test(document.querySelector('.call-status').textContent)`)
	a.clickJS(t, `.call-window button[aria-label="Hang up"]`)
	a.waitJS(t, "alice's window closed", `!document.querySelector('.call-window') && !window.parley.calls.current`)
	b.waitJS(t, "bob's window closed", `!document.querySelector('.call-window') && !window.parley.calls.current`)
	a.waitJS(t, "alice's record", `[...document.querySelectorAll('.msg-system')].some((e) => /^Outgoing video call · 0:0[1-9]/.test(e.textContent))`)
	b.clickJS(t, `a[href="/c/`+conv.ID+`"]`)
	b.waitJS(t, "bob's record", `[...document.querySelectorAll('.msg-system')].some((e) => /^Incoming video call · 0:0[1-9]/.test(e.textContent))`)

	// A call Bob declines: Alice learns it, and the record says so.
	a.clickJS(t, `.chat-head button.call-audio`)
	b.waitJS(t, "bob ringing again", `document.querySelector('.call-window[data-state=incoming]') && /Incoming audio call/.test(document.querySelector('.call-status').textContent)`)
	b.clickJS(t, `.call-window button[aria-label=Decline]`)
	a.waitJS(t, "alice told", `!document.querySelector('.call-window') && [...document.querySelectorAll('.toast')].some((e) => /declined/i.test(e.textContent))`)
	a.waitJS(t, "declined record", `[...document.querySelectorAll('.msg-system')].some((e) => /Bob declined your call/.test(e.textContent))`)

	// A call nobody answers rings out: both windows close and the records
	// say missed.
	env.Server.Realtime.SetCallTimes(time.Second, 0)
	a.clickJS(t, `.chat-head button.call-audio`)
	b.waitJS(t, "bob ringing a third time", `document.querySelector('.call-window[data-state=incoming]')`)
	b.waitJS(t, "ringing stopped", `!document.querySelector('.call-window') && !window.parley.calls.current`)
	a.waitJS(t, "alice's window closed", `!document.querySelector('.call-window')`)
	b.waitJS(t, "missed record", `[...document.querySelectorAll('.msg-system')].some((e) => /Missed call from Alice/.test(e.textContent))`)
	a.waitJS(t, "no-answer record", `[...document.querySelectorAll('.msg-system')].some((e) => /Bob did not answer your call/.test(e.textContent))`)

	for _, tb := range []*tab{a, b} {
		if errs := tb.jsErrors(); len(errs) > 0 {
			t.Errorf("console errors: %s", strings.Join(errs, "\n"))
		}
	}
}
