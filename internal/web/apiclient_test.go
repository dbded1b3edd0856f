package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestAPIClientJS runs testdata/api_test.js — the REST client's end of a
// session: requests in flight are cancelled (no 401 reaches the console, no
// error toast), later ones go without the token — in headless Chromium against
// a real HTTP server, which must see the four slow requests go away.
func TestAPIClientJS(t *testing.T) {
	var arrived, gone atomic.Int32
	runJSPage(t, "api_test.html", 5, func(mux *http.ServeMux) {
		mux.HandleFunc("/api/v1/slow", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // net/http notices a closed connection only after the body
			arrived.Add(1)
			select {
			case <-r.Context().Done():
				gone.Add(1)
			case <-time.After(10 * time.Second):
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{}`))
			}
		})
		mux.HandleFunc("/api/v1/arrived", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]int32{"n": arrived.Load()})
		})
		mux.HandleFunc("/api/v1/auth", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"authorization": r.Header.Get("Authorization")})
		})
	})
	for deadline := time.Now().Add(5 * time.Second); gone.Load() < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := gone.Load(); n != 4 {
		t.Errorf("the server saw %d of 4 requests in flight cancelled", n)
	}
}
