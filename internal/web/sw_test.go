package web

import (
	"strings"
	"testing"
)

// TestServiceWorkerIsServedAtTheRoot: /sw.js (scope "/") is JavaScript,
// never cached, under the same CSP, whose Trusted Types admit only the
// service worker's policy.
func TestServiceWorkerIsServedAtTheRoot(t *testing.T) {
	h := Handler()
	r := get(t, h, "/sw.js", nil)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") ||
		r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("Content-Security-Policy") != CSP {
		t.Fatalf("/sw.js: %d %v", r.StatusCode, r.Header)
	}
	if b := body(t, r); !strings.Contains(b, "addEventListener('push'") {
		t.Fatalf("/sw.js body %.200q", b)
	}
	if !strings.Contains(CSP, "trusted-types parley-sw") || !strings.Contains(CSP, "worker-src 'self'") {
		t.Fatalf("CSP %q", CSP)
	}
	if r := get(t, h, "/sw.js/x", nil); r.StatusCode != 404 {
		t.Fatalf("/sw.js/x: %d", r.StatusCode)
	}
}
