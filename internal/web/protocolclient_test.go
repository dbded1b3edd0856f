package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/web"
)

// TestRealtimeJS runs testdata/realtime_test.js — the protocol client's own
// tests against a scripted fake WebSocket — in headless Chromium.
func TestRealtimeJS(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	files := http.StripPrefix("/test/", http.FileServer(http.Dir("testdata")))
	mux.Handle("/test/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", web.CSP)
		files.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tb := newTab(t)
	tb.do(t, chromedp.Navigate(srv.URL+"/test/realtime_test.html"))
	tb.waitJS(t, "JS tests to finish", `window.__results && window.__results.done`)
	res := eval[struct {
		Passed   []string `json:"passed"`
		Failures []string `json:"failures"`
	}](t, tb, `window.__results`)
	for _, p := range res.Passed {
		t.Logf("ok   %s", p)
	}
	for _, f := range res.Failures {
		t.Errorf("FAIL %s", f)
	}
	if len(res.Passed) < 10 {
		t.Errorf("only %d JS tests passed", len(res.Passed))
	}
	if errs := tb.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %v", errs)
	}
}
