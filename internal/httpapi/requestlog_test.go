package httpapi

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLogRequestLevels(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	logRequest(log, r, 200, 10*time.Millisecond)
	logRequest(log, r, 404, 10*time.Millisecond)
	if buf.Len() != 0 {
		t.Fatalf("healthy requests logged at info: %s", buf.String())
	}
	logRequest(log, r, 503, time.Millisecond)
	logRequest(log, r, 200, 1500*time.Millisecond)
	ws := httptest.NewRequest("GET", "/api/v1/ws", nil)
	ws.Header.Set("Upgrade", "websocket")
	logRequest(log, ws, 101, time.Hour)
	out := buf.String()
	if !strings.Contains(out, `level=ERROR msg="http server error"`) || !strings.Contains(out, "status=503") {
		t.Errorf("5xx not logged: %s", out)
	}
	if !strings.Contains(out, `level=WARN msg="http slow request"`) || !strings.Contains(out, "duration_ms=1500") {
		t.Errorf("slow request not logged: %s", out)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want 2 lines (the WebSocket is not slow): %s", out)
	}
}

func TestLogPathHidesWebhookSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/hooks/abc/s3cretS3cret":   "/api/v1/hooks/abc/…",
		"/api/v1/hooks/abc":                "/api/v1/hooks/abc",
		"/api/v1/conversations/x/messages": "/api/v1/conversations/x/messages",
	} {
		if got := logPath(in); got != want {
			t.Errorf("logPath(%q) = %q, want %q", in, got, want)
		}
	}
}
