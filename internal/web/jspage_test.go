package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/web"
)

// jsResults is what a testdata/*_test.js page leaves in window.__results.
type jsResults struct {
	Passed      []string `json:"passed"`
	Failures    []string `json:"failures"`
	SpecVectors bool     `json:"specVectors"`
}

// runJSPage serves the web client and testdata/ (with the client's CSP) plus
// the handlers extra adds, opens /test/<page>, waits for its results, reports
// each test and fails on a failure, on fewer than min passes or on a
// JavaScript error. It returns the tab and the results for further checks.
func runJSPage(t *testing.T, page string, min int, extra func(*http.ServeMux)) (*tab, jsResults) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	files := http.StripPrefix("/test/", http.FileServer(http.Dir("testdata")))
	mux.Handle("/test/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", web.CSP)
		files.ServeHTTP(w, r)
	}))
	if extra != nil {
		extra(mux)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tb := newTab(t)
	tb.do(t, chromedp.Navigate(srv.URL+"/test/"+page))
	tb.waitJS(t, "JS tests to finish", `window.__results && window.__results.done`)
	res := eval[jsResults](t, tb, `window.__results`)
	for _, p := range res.Passed {
		t.Logf("ok   %s", p)
	}
	for _, f := range res.Failures {
		t.Errorf("FAIL %s", f)
	}
	if len(res.Passed) < min {
		t.Errorf("only %d JS tests passed", len(res.Passed))
	}
	if errs := tb.jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors: %v", errs)
	}
	return tb, res
}
