// Package httpapi is Parley's HTTP face: the REST API under /api/v1, the
// WebSocket endpoint, the OpenAPI document, health and metrics endpoints.
// Handlers decode and encode; every rule lives in internal/app.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/metrics"
)

// Options configure the HTTP layer.
type Options struct {
	MaxBodyBytes   int64         // cap on JSON request bodies; default 1 MiB
	RequestTimeout time.Duration // per-request deadline for REST handlers; default 30s
	AllowedOrigins []string      // Origin values accepted on the WebSocket; empty: same host only
	TrustProxy     bool          // take the client address from X-Forwarded-For
	Version        string
}

// Server routes HTTP requests to the app.
type Server struct {
	app     *app.App
	log     *slog.Logger
	opts    Options
	metrics *metrics.Metrics
	mux     *http.ServeMux
	handler http.Handler
	// extra holds handlers mounted by other packages (the web client, the
	// WebSocket gateway) via Mount.
}

// New returns a Server. m may be nil (no metrics).
func New(a *app.App, log *slog.Logger, m *metrics.Metrics, o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{app: a, log: log, opts: o, metrics: m, mux: http.NewServeMux()}
	s.routes()
	s.handler = s.withRequestID(s.withRecover(s.withLogging(s.mux)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Mount registers h for pattern (net/http ServeMux syntax), for handlers that
// live outside this package, such as the web client.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.app.Ready(ctx); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics.Handler())
	}
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.serveOpenAPI)
	s.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, notFoundRoute(r))
	})
	s.userRoutes()
	s.conversationRoutes()
	s.messageRoutes()
	s.realtimeRoutes()
	s.attachmentRoutes()
	s.fileURLRoutes()
	s.adminRoutes()
	s.searchRoutes()
	s.contactRoutes()
	s.callRoutes()
	s.moderationRoutes()
	s.reportRoutes()
	s.statsRoutes()
	s.notifyRoutes()
	s.pushRoutes()
	s.e2eeRoutes()
	s.emailRoutes()
	s.twoFactorRoutes()
	s.appPasswordRoutes()
	s.botRoutes()
	s.hookRoutes()
	s.outHookRoutes()
	s.commandRoutes()
	s.exportRoutes()
	s.retentionRoutes()
	s.orgRoutes()
}

type ctxKey int

const requestIDKey ctxKey = iota

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "request_id", requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, internalPanic(v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status for logs and metrics. It passes Unwrap so
// http.ResponseController (WebSocket hijacking, deadlines) keeps working.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) withLogging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		if s.metrics != nil {
			s.metrics.ObserveHTTP(pattern, sw.status, d)
		}
		logRequest(s.log, r, sw.status, d)
	})
}
