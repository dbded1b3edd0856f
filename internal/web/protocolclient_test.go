package web_test

import "testing"

// TestRealtimeJS runs testdata/realtime_test.js — the protocol client's own
// tests against a scripted fake WebSocket — in headless Chromium.
func TestRealtimeJS(t *testing.T) {
	runJSPage(t, "realtime_test.html", 10, nil)
}
