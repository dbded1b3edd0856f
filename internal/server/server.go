// Package server assembles a Parley node from its Config: it is the one place
// (with cmd/parley) that names concrete implementations — which Store, which
// Bus — and wires them into the app and the transports. Tests start a Server
// in-process on ":0".
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	natsbus "github.com/parley-chat/parley/internal/bus/nats"
	"github.com/parley-chat/parley/internal/gateway"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/metrics"
	"github.com/parley-chat/parley/internal/mqtt"
	"github.com/parley-chat/parley/internal/postgres"
	"github.com/parley-chat/parley/internal/presence"
	"github.com/parley-chat/parley/internal/sqlite"
	"github.com/parley-chat/parley/internal/turn"
	"github.com/parley-chat/parley/internal/web"
	"github.com/parley-chat/parley/internal/xmpp"
	"golang.org/x/crypto/acme/autocert"
)

// Server is one running Parley node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	Store    parley.Store
	Bus      parley.Bus
	App      *app.App
	Metrics  *metrics.Metrics
	HTTP     *httpapi.Server
	Gateway  *gateway.Gateway
	Realtime *app.Realtime // the gateway's use cases (calls, presence, typing)
	MQTT     *mqtt.Server  // nil unless --mqtt
	XMPP     *xmpp.Server  // nil unless --xmpp
	TURN     *turn.Server  // nil unless --turn
	// Notifier derives and delivers notifications (notify.go).
	Notifier *app.Notifier

	ln       net.Listener
	xmppLn   net.Listener
	srv      *http.Server
	pprofSrv *http.Server
	closers  []func() error // run in reverse order by Close
	closeMu  sync.Once
	started  time.Time
	adminLn  net.Listener // <data-dir>/admin.sock (operator.go); nil with PostgreSQL
	// TLS (tls.go)
	certs      *certFiles
	acme       *autocert.Manager
	redirectLn net.Listener
}

// NewLogger returns the slog logger the configuration asks for, writing to w.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens the store and bus, builds the app and HTTP layer, and binds the
// listener (so Addr is known at once). It does not serve until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkTLSFiles(cfg); err != nil {
		return nil, err
	}
	if log == nil {
		log = NewLogger(cfg, os.Stderr)
	}
	s := &Server{cfg: cfg, log: log, Metrics: metrics.New(), started: time.Now()}
	if err := s.open(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) open(ctx context.Context) error {
	cfg := s.cfg
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	s.Store = store
	s.closers = append(s.closers, store.Close)
	if o, ok := store.(interface {
		ObserveBatches(func(int, time.Duration))
	}); ok {
		o.ObserveBatches(s.Metrics.ObserveCommitBatch)
	}

	bus, err := openBus(cfg, s.log)
	if err != nil {
		return err
	}
	s.Bus = bus
	s.closers = append(s.closers, bus.Close)

	if cfg, err = s.openTURN(cfg); err != nil {
		return err
	}
	s.cfg = cfg
	s.App, err = NewApp(ctx, cfg, store, bus, s.log, s.runtime)
	if err != nil {
		return err
	}
	s.startMediaSweep()
	s.startStats()
	if err := s.startWebhooks(); err != nil {
		return err
	}
	s.startRetention()

	s.HTTP = httpapi.New(s.App, s.log, s.Metrics, httpapi.Options{
		MaxBodyBytes:   cfg.MaxBodyBytes,
		AllowedOrigins: cfg.AllowedOrigins,
		TrustProxy:     cfg.TrustProxy,
		Version:        Version,
	})

	var realtime *app.Realtime
	presence, err := s.openPresence(ctx, store, func(st parley.PresenceStatus) { realtime.PresenceChanged(st) })
	if err != nil {
		return err
	}
	realtime = app.NewRealtime(s.App, presence)
	s.Realtime = realtime
	s.closers = append(s.closers, func() error { realtime.Close(); return nil })
	s.Gateway = gateway.New(realtime, s.log, s.Metrics, gateway.Config{
		MaxMessageChars: s.App.Limits().MaxMessageChars,
		TypingTTL:       app.TypingTTL,
		OpsPerSecond:    s.cfg.WSFrameRate,
		OpsBurst:        int(2 * s.cfg.WSFrameRate),
	})
	unsubscribe, err := bus.Subscribe(s.Gateway.HandleEvent)
	if err != nil {
		_ = s.Gateway.Close()
		return err
	}
	s.closers = append(s.closers, func() error { unsubscribe(); return nil }, s.Gateway.Close)
	if nb, ok := bus.(*natsbus.Bus); ok {
		// Events from other nodes were lost while this node was off NATS:
		// its clients reconnect and resync (docs/guarantees.md).
		nb.OnReconnect(s.Gateway.ResyncAll)
	}
	s.HTTP.MountGateway(s.Gateway)
	if err := s.openNotifier(ctx, presence); err != nil {
		return err
	}
	if err := s.openXMPP(realtime); err != nil {
		return err
	}
	if err := s.openMQTT(realtime); err != nil {
		return err
	}

	s.HTTP.Mount("/", web.Handler()) // the browser client; API routes are more specific

	s.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if err := s.openTLS(); err != nil {
		_ = s.ln.Close()
		return err
	}
	if cfg.PublicURL == "" {
		s.App.SetPublicURL(s.publicURL()) // links in emails point at this node
	}
	if err := s.listenAdmin(); err != nil {
		return err
	}
	s.srv = &http.Server{
		Handler:           s.HTTP,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// openStore opens PostgreSQL when --db is set, else embedded SQLite in
// --data-dir (which refuses a second process on the same directory).
func openStore(ctx context.Context, cfg Config) (parley.Store, error) {
	if cfg.DB != "" {
		return postgres.OpenWith(ctx, cfg.DB, postgres.Options{CommitLinger: cfg.CommitLinger})
	}
	return sqlite.OpenWith(ctx, cfg.DataDir, sqlite.Options{CommitLinger: cfg.CommitLinger})
}

// openBus connects to NATS when --nats is set (several nodes), else uses the
// in-process bus (one node). A NATS server that is down at start is not an
// error: the bus connects when it comes up.
func openBus(cfg Config, log *slog.Logger) (parley.Bus, error) {
	if cfg.NATS != "" {
		host, _ := os.Hostname()
		return natsbus.Open(natsbus.Options{URL: cfg.NATS, Name: "parley " + host + " " + cfg.Addr, Logger: log})
	}
	return memory.New(), nil
}

// OpenBus opens the bus cfg configures — the same one `parley serve` would
// use — for operator tools whose events must reach running nodes (an
// account disabled from the command line closes its sockets on every node).
func OpenBus(cfg Config, log *slog.Logger) (parley.Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return openBus(cfg, log)
}

// openPresence returns the presence tracker: shared by every node through
// PostgreSQL when the store is PostgreSQL (a dead node's users go offline
// within postgres.DefaultLease + a third of it), else in-process. notify
// publishes the changes the tracker notices by itself. The tracker is closed
// after the gateway (whose connections report their ends to it).
func (s *Server) openPresence(ctx context.Context, store parley.Store, notify func(parley.PresenceStatus)) (parley.Presence, error) {
	pg, ok := store.(*postgres.Store)
	if !ok {
		return presence.NewLocal(), nil
	}
	p, err := pg.Presence(ctx, postgres.PresenceOptions{Notify: notify, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, p.Close)
	return p, nil
}

// Addr returns the address the HTTP listener is bound to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the base URL of the listener (http://host:port, or https://
// with TLS on).
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return s.scheme() + "://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Run serves until ctx is cancelled, then shuts down gracefully: the
// listener closes, in-flight requests get ShutdownGrace to finish, and the
// store and bus close. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if s.cfg.Pprof != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		s.pprofSrv = &http.Server{Addr: s.cfg.Pprof, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := s.pprofSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("pprof listener failed", "err", err)
			}
		}()
	}
	s.log.Info("parley serving at "+s.publicURL(), "addr", s.Addr(), "url", s.publicURL(), "version", Version,
		"store", storeName(s.cfg), "bus", busName(s.cfg))
	s.announce(ctx)
	errc := make(chan error, 2)
	if s.MQTT != nil {
		if err := s.MQTT.Serve(); err != nil {
			_ = s.Close()
			return err
		}
	}
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.serveXMPP(errc)
	select {
	case err := <-errc:
		_ = s.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownGrace)
	return s.Close()
}

// Close stops serving (gracefully, within ShutdownGrace) and releases every
// resource. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeMu.Do(func() {
		var errs []error
		if s.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
			if e := s.srv.Shutdown(ctx); e != nil {
				errs = append(errs, e)
				_ = s.srv.Close()
			}
			cancel()
		} else if s.ln != nil {
			_ = s.ln.Close()
		}
		if s.pprofSrv != nil {
			_ = s.pprofSrv.Close()
		}
		for i := len(s.closers) - 1; i >= 0; i-- {
			if e := s.closers[i](); e != nil {
				errs = append(errs, e)
			}
		}
		err = errors.Join(errs...)
	})
	return err
}

func storeName(cfg Config) string {
	if cfg.DB != "" {
		return "postgres"
	}
	return "sqlite:" + cfg.DataDir
}

func busName(cfg Config) string {
	if cfg.NATS != "" {
		return "nats"
	}
	return "memory"
}
