package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// SlowRequest is the duration beyond which a request is logged at the
// default level. WebSocket upgrades (which last as long as the socket) are
// exempt.
const SlowRequest = time.Second

// logRequest logs one finished request: 5xx answers at error level, slow
// requests at warn, everything else at debug — so the default (info) log
// has one line per failure or slow request and none per healthy request.
func logRequest(log *slog.Logger, r *http.Request, status int, d time.Duration) {
	level := slog.LevelDebug
	msg := "http"
	switch {
	case status >= 500:
		level, msg = slog.LevelError, "http server error"
	case d > SlowRequest && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		level, msg = slog.LevelWarn, "http slow request"
	}
	if !log.Enabled(r.Context(), level) {
		return
	}
	log.LogAttrs(context.WithoutCancel(r.Context()), level, msg, slog.String("request_id", requestID(r.Context())),
		slog.String("method", r.Method), slog.String("path", logPath(r.URL.Path)), slog.Int("status", status),
		slog.Int64("duration_ms", d.Milliseconds()))
}

// logPath is a request path as logs may show it: the secret of an incoming
// webhook URL (/api/v1/hooks/{id}/{secret}) is replaced by "…".
func logPath(p string) string {
	const hooks = "/api/v1/hooks/"
	if rest, ok := strings.CutPrefix(p, hooks); ok {
		if id, _, found := strings.Cut(rest, "/"); found {
			return hooks + id + "/…"
		}
	}
	return p
}
