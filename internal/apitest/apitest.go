// Package apitest starts in-process Parley servers for end-to-end tests and
// hands out SDK clients whose every response is validated against the
// OpenAPI document.
package apitest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

// Env is one running server for a test.
type Env struct {
	T      testing.TB
	Server *server.Server
	URL    string
	Config server.Config
	stop   func()
}

// Stop shuts the server down now (it is otherwise stopped when the test
// ends), e.g. to start another on the same data dir. Safe to call twice.
func (e *Env) Stop() { e.stop() }

// Start starts a server on 127.0.0.1:0 with a fresh data dir, applying
// configure (if non-nil) to its Config, and stops it when the test ends.
func Start(t testing.TB, configure func(*server.Config)) *Env {
	t.Helper()
	cfg := server.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.LogLevel = "warn"
	// http.Server.Shutdown counts a connection that was dialed but never
	// carried a request as busy until it is 5 s old, so the grace must be
	// longer than that; cleanup also closes the client side of such
	// connections first (below).
	cfg.ShutdownGrace = 15 * time.Second
	cfg.PasswordParams = app.FastPasswordParams()
	cfg.SignupsPerHour = 0 // suites register hundreds of accounts from 127.0.0.1
	if configure != nil {
		configure(&cfg)
	}
	srv, err := server.New(context.Background(), cfg, server.NewLogger(cfg, testWriter{t}))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if tr, ok := http.DefaultTransport.(*http.Transport); ok {
				tr.CloseIdleConnections() // every client this package hands out dials through it
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &Env{T: t, Server: srv, URL: srv.URL(), Config: cfg, stop: stop}
}

// HTTPClient returns an *http.Client whose responses are checked against
// the OpenAPI document; a violation fails the test.
func (e *Env) HTTPClient() *http.Client {
	v, err := OpenAPIValidator()
	if err != nil {
		e.T.Fatalf("openapi: %v", err)
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &Transport{
			Base:      http.DefaultTransport,
			Validator: v,
			Fail:      func(err error) { e.T.Errorf("%v", err) },
		},
	}
}

// Client returns an unauthenticated SDK client that validates responses.
func (e *Env) Client(opts ...client.Option) *client.Client {
	return client.New(e.URL, append([]client.Option{client.WithHTTPClient(e.HTTPClient())}, opts...)...)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
