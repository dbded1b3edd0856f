// Package xmpp is Parley's XMPP gateway: a client-to-server (c2s) listener
// that lets standard XMPP clients use Parley accounts and conversations
// (docs/xmpp.md). It is a transport: every rule is internal/app's; the
// gateway only translates stanzas to use cases and events to stanzas.
//
// Stream layer: a hand-written RFC 6120 stream on encoding/xml (stream.go;
// docs/xmpp.md says why not a library). Per connection one goroutine reads
// and handles stanzas in order, and one writes: everything sent after
// resource binding goes through the connection's bounded queue, so bus
// events never wait for a socket; a full queue ends that one connection.
package xmpp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Config configures the gateway. Domain and TLS are required.
type Config struct {
	Domain         string      // the XMPP domain: JIDs are username@Domain
	TLS            *tls.Config // for STARTTLS (required before authentication)
	MaxStanzaBytes int         // largest stanza accepted; default 256 KiB
	QueueLen       int         // outbound stanzas queued per connection; default 1024
	StanzaRate     float64     // stanzas per second per connection, sustained; default 100 (bursts of 2x)
	AuthTimeout    time.Duration
	IdleTimeout    time.Duration // a connection silent this long is closed; default 10 min
	ResumeTimeout  time.Duration // how long a stream-management session waits for a resume; default 5 min
	Files          *FileLinks    // HTTP File Upload and file links; nil: off
}

func (c *Config) fill() {
	if c.MaxStanzaBytes <= 0 {
		c.MaxStanzaBytes = 256 << 10
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 1024
	}
	if c.StanzaRate <= 0 {
		c.StanzaRate = 100
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.ResumeTimeout <= 0 {
		c.ResumeTimeout = 5 * time.Minute
	}
}

// Server is the XMPP listener and the node-local router of events to XMPP
// sessions. Safe for concurrent use.
type Server struct {
	cfg Config
	rt  *app.Realtime
	app *app.App
	log *slog.Logger
	hub *hub

	names sync.Map // user id → username (usernames never change)
	convs sync.Map // conversation id → convInfo (kind and pair never change)

	mu     sync.Mutex
	ln     net.Listener
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup
	sm     *resumeTable
}

// convInfo is what rendering needs of a conversation.
type convInfo struct {
	kind  parley.ConversationKind
	pair  [2]string // direct conversations: the two user ids
	title string
}

// New returns a gateway over rt. It serves nothing until Serve.
func New(rt *app.Realtime, log *slog.Logger, cfg Config) *Server {
	cfg.fill()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, rt: rt, app: rt.App, log: log.With("transport", "xmpp"),
		hub: newHub(), conns: map[*conn]struct{}{}}
	s.sm = newResumeTable(s)
	return s
}

// Domain returns the served XMPP domain.
func (s *Server) Domain() string { return s.cfg.Domain }

// Serve accepts connections on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if strings.Contains(err.Error(), "too many open files") {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return err
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, ends every stream with system-shutdown and waits
// for the connections to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.ln != nil {
		_ = s.ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown(streamErr("system-shutdown", "the server is shutting down"))
	}
	s.wg.Wait()
	s.sm.closeAll()
	return nil
}

// track adds or removes a resumed session from the set Close ends.
func (s *Server) track(c *conn, on bool) {
	s.mu.Lock()
	if on {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	s.mu.Unlock()
}

// username returns the username of user id (cached; "" if unknown).
func (s *Server) username(ctx context.Context, actor parley.Actor, id string) string {
	if v, ok := s.names.Load(id); ok {
		return v.(string)
	}
	us, err := s.app.LookupUsers(ctx, actor, []string{id})
	if err != nil || len(us) == 0 {
		return ""
	}
	s.names.Store(id, us[0].Username)
	return us[0].Username
}

// conversation returns what rendering needs of conversation id, cached.
func (s *Server) conversation(ctx context.Context, actor parley.Actor, id string) (convInfo, error) {
	if v, ok := s.convs.Load(id); ok {
		return v.(convInfo), nil
	}
	c, err := s.app.Conversation(ctx, actor, id)
	if err != nil {
		return convInfo{}, err
	}
	ci := convInfo{kind: c.Kind, title: c.Title}
	if c.Kind == parley.KindDirect {
		if a, b, ok := strings.Cut(c.DirectKey, ":"); ok {
			ci.pair = [2]string{a, b}
		}
	}
	if c.Kind == parley.KindDirect && ci.pair[0] == "" {
		return ci, nil // do not cache an incomplete answer
	}
	s.convs.Store(id, ci)
	return ci, nil
}

// peer returns the other user of a direct conversation.
func (ci convInfo) peer(self string) string {
	if ci.pair[0] == self {
		return ci.pair[1]
	}
	return ci.pair[0]
}

// bare returns username@domain.
func (s *Server) bare(username string) string { return username + "@" + s.cfg.Domain }

// mucDomain is the MUC service's domain.
func (s *Server) mucDomain() string { return "conference." + s.cfg.Domain }
