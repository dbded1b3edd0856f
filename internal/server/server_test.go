package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	env := apitest.Start(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, body := get(t, env.URL+path)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"status"`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, body := get(t, env.URL+"/metrics")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "parley_http_requests_total") {
		t.Errorf("/metrics: %d, parley_http_requests_total missing", resp.StatusCode)
	}
	resp, body = get(t, env.URL+"/api/v1/openapi.json")
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &doc) != nil || doc.OpenAPI != "3.1.0" || len(doc.Paths) == 0 {
		t.Errorf("openapi.json: %d openapi=%q paths=%d", resp.StatusCode, doc.OpenAPI, len(doc.Paths))
	}
}

func TestUnknownAPIRouteIsJSONNotFound(t *testing.T) {
	env := apitest.Start(t, nil)
	resp, body := get(t, env.URL+"/api/v1/no/such/thing")
	var eb struct {
		Error struct {
			Code      parley.Code `json:"code"`
			RequestID string      `json:"request_id"`
		} `json:"error"`
	}
	if resp.StatusCode != 404 || json.Unmarshal(body, &eb) != nil || eb.Error.Code != parley.CodeNotFound || eb.Error.RequestID == "" {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") != eb.Error.RequestID {
		t.Errorf("X-Request-Id header %q differs from body %q", resp.Header.Get("X-Request-Id"), eb.Error.RequestID)
	}
}

func TestSecondNodeOnSameDataDirIsRefused(t *testing.T) {
	env := apitest.Start(t, nil)
	cfg := env.Config
	_, err := server.New(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by another Parley process") {
		t.Fatalf("second server on %s: got %v, want a clear refusal", cfg.DataDir, err)
	}
}

func TestGracefulShutdownFinishesAndReleasesDataDir(t *testing.T) {
	cfg := server.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.LogLevel = "error"
	srv, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if resp, _ := get(t, srv.URL()+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	// The data directory is free again: a new node can open it.
	srv2, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("reopen after shutdown: %v", err)
	}
	_ = srv2.Close()
}

// TestMetricsRecordWork: the collectors /metrics exposes move with the work
// they name (none is registered and left at zero).
func TestMetricsRecordWork(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, bob := env.NewUser(t, "bob")
	conv, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := alice.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: fmt.Sprint("m", i), Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Client().Login(ctx, "alice", "not the password"); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("wrong password: %v", err)
	}
	_, body := get(t, env.URL+"/metrics")
	value := func(name string) float64 {
		for _, line := range strings.Split(string(body), "\n") {
			if rest, ok := strings.CutPrefix(line, name+" "); ok {
				v, err := strconv.ParseFloat(rest, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return v
			}
		}
		t.Fatalf("/metrics has no %s", name)
		return 0
	}
	if v := value("parley_messages_committed_total"); v < 3 {
		t.Errorf("parley_messages_committed_total = %v, want ≥ 3", v)
	}
	if v := value("parley_commit_batch_ops_count"); v < 1 {
		t.Errorf("parley_commit_batch_ops_count = %v, want ≥ 1", v)
	}
	if v := value("parley_commit_batch_ops_sum"); v < 4 { // the conversation and three messages
		t.Errorf("parley_commit_batch_ops_sum = %v, want ≥ 4", v)
	}
	if v := value("parley_login_failures_total"); v != 1 {
		t.Errorf("parley_login_failures_total = %v, want 1", v)
	}
}
