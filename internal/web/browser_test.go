package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/apitest"
)

// One headless Chromium serves every browser test of the package; each test
// opens its own isolated browser contexts (separate storage and cookies).
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	// The package takes about a minute alone and a few under CI's load; a
	// hang ends here with the stuck test's stack rather than at go test's
	// -timeout with the interesting part cut off.
	stop := apitest.Watchdog(10 * time.Minute)
	code := m.Run()
	stop()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("PARLEY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	return ""
}

// browserCtx returns the shared browser, starting it on first use. Without
// Chromium the test is skipped, or fails under PARLEY_TEST_REQUIRE_SERVICES=1.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("chromium not found (install Debian's chromium package)")
		}
		t.Skip("chromium not installed; skipping browser test")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "parley-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("no-default-browser-check", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
			chromedp.Flag("mute-audio", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 800),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		// The first action starts the browser and ties it to the context it
		// runs on, so it runs on bctx itself and is bounded by a timer (a
		// fresh machine builds its font cache on first start).
		started := make(chan error, 1)
		go func() { started <- chromedp.Do(bctx) }()
		select {
		case err := <-started:
			if err != nil {
				browser.err = fmt.Errorf("start chromium: %w", err)
			}
		case <-time.After(90 * time.Second):
			browser.err = fmt.Errorf("start chromium: no answer in 90s")
		}
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel(); _ = os.RemoveAll(dir) }
	})
	if browser.err != nil {
		t.Fatal(browser.err)
	}
	return browser.ctx
}

// tab is one page in its own browser context, with console messages,
// uncaught exceptions and CSP reports collected so tests can assert on them.
type tab struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
	logs   []string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	return newTabIn(t, browserCtx(t))
}

// newTabIn is newTab in the browser of parent (a test that needs browser
// flags of its own starts its own browser: call_test.go).
func newTabIn(t *testing.T, parent context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	tb := &tab{ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			line := string(m.Type) + ": " + m.Text
			if m.Source == "network" && m.URL != "" {
				line += " (" + m.URL + ")" // which request failed
			}
			tb.mu.Lock()
			tb.logs = append(tb.logs, line)
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				tb.errors = append(tb.errors, line)
			}
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			tb.mu.Lock()
			for _, l := range tb.logs {
				t.Log("console", l)
			}
			tb.mu.Unlock()
		}
		cancel()
	})
	return tb
}

func (tb *tab) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v (js errors: %v)", err, tb.jsErrors())
	}
}

func (tb *tab) jsErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errors...)
}

// eval evaluates a JavaScript expression (awaiting promises) into a T.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %s: %v (js errors: %v)", expr, err, tb.jsErrors())
	}
	return v
}

// waitJS polls a JavaScript condition until it is truthy.
// clickJS finds and clicks the first element matching sel in one script
// evaluation, retrying until it exists. Dialog lists are re-rendered as live
// data arrives (members, search results), so chromedp.Click's node id can go
// stale between its lookup and its click ("Could not find node with given id").
func (tb *tab) clickJS(t *testing.T, sel string) {
	t.Helper()
	q, _ := json.Marshal(sel)
	tb.waitJS(t, "click "+sel, `(() => { const e = document.querySelector(`+string(q)+`); if (!e) return false; e.click(); return true })()`)
}

func (tb *tab) waitJS(t *testing.T, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		dctx, dcancel := context.WithTimeout(tb.ctx, 5*time.Second)
		defer dcancel()
		dbg, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
		t.Fatalf("waiting for %s: %v\npage text:\n%s\njs errors: %v", what, err, dbg, tb.jsErrors())
	}
}
