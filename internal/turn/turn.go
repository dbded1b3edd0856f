// Package turn is Parley's embedded TURN/STUN server (pion/turn), for calls
// whose peers cannot reach each other directly (docs/calls.md). It accepts
// the short-lived credentials of the TURN REST API scheme that the app hands
// out (parley.TURNCredentials), so an external TURN server such as coturn
// sharing the same secret is interchangeable with it.
package turn

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/logging"
	pturn "github.com/pion/turn/v5"

	"github.com/parley-chat/parley"
)

// Config configures a Server.
type Config struct {
	// Listen is the UDP and TCP address (host:port; ":0" picks a free port,
	// the same for both).
	Listen string
	// PublicIP is the address relays are announced at (and the address in
	// the URLs clients are given): the server's public IP.
	PublicIP net.IP
	Realm    string // default "parley"
	Secret   string // the HMAC secret shared with the app; required
	// MaxAllocations bounds the relays one user may hold at once; default 10.
	MaxAllocations int
	Logger         *slog.Logger
	Now            func() time.Time // default time.Now
}

// Server is a running TURN server.
type Server struct {
	srv  *pturn.Server
	port int
	cfg  Config

	mu    sync.Mutex
	alloc map[string]int // user → allocations held
}

// Start listens on cfg.Listen (UDP and TCP) and serves TURN and STUN.
func Start(cfg Config) (*Server, error) {
	if cfg.Secret == "" {
		return nil, errors.New("turn: a secret is required")
	}
	if cfg.PublicIP == nil {
		return nil, errors.New("turn: the public IP (relay address) is required")
	}
	if cfg.Realm == "" {
		cfg.Realm = "parley"
	}
	if cfg.MaxAllocations <= 0 {
		cfg.MaxAllocations = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	udp, tcp, err := listen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(cfg.Listen)
	if host == "" {
		host = "0.0.0.0"
	}
	s := &Server{cfg: cfg, port: udp.LocalAddr().(*net.UDPAddr).Port, alloc: map[string]int{}}
	relay := func() pturn.RelayAddressGenerator {
		return &pturn.RelayAddressGeneratorStatic{RelayAddress: cfg.PublicIP, Address: host}
	}
	permit := func(_ net.Addr, peer net.IP) bool { return PeerAllowed(peer, cfg.PublicIP) }
	s.srv, err = pturn.NewServer(pturn.ServerConfig{
		Realm:             cfg.Realm,
		AuthHandler:       s.auth,
		QuotaHandler:      s.quota,
		LoggerFactory:     quietLogs{},
		PacketConnConfigs: []pturn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: relay(), PermissionHandler: permit}},
		ListenerConfigs:   []pturn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: relay(), PermissionHandler: permit}},
		EventHandler: pturn.EventHandler{
			OnAllocationCreated: func(_, _ net.Addr, _, userID, _ string, _ net.Addr, _ int) { s.count(userID, 1) },
			OnAllocationDeleted: func(_, _ net.Addr, _, userID, _ string) { s.count(userID, -1) },
		},
	})
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

// listen opens UDP and TCP on the same port (for ":0", the port UDP got,
// retrying a few times if TCP finds it taken).
func listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("turn: listen address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("turn: %w", err)
		}
		p := strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
		tcp, err := net.Listen("tcp4", net.JoinHostPort(host, p))
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		if port != "0" || try == 5 {
			return nil, nil, fmt.Errorf("turn: %w", err)
		}
	}
}

// Port is the UDP and TCP port served.
func (s *Server) Port() int { return s.port }

// URLs are the ICE server URLs of this server for clients: TURN over UDP
// and TCP, and STUN.
func (s *Server) URLs() []string {
	hp := net.JoinHostPort(s.cfg.PublicIP.String(), strconv.Itoa(s.port))
	return []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp", "stun:" + hp}
}

// Allocations returns the relays held now.
func (s *Server) Allocations() int { return s.srv.AllocationCount() }

// Close stops serving and releases every relay.
func (s *Server) Close() error { return s.srv.Close() }

// auth accepts a TURN REST API username that has not expired, proving the
// password derived from the shared secret (parley.CheckTURNUsername).
func (s *Server) auth(ra *pturn.RequestAttributes) (string, []byte, bool) {
	password, user, ok := parley.CheckTURNUsername(s.cfg.Secret, ra.Username, s.cfg.Now())
	if !ok {
		s.cfg.Logger.Debug("turn: refused credentials", "username", ra.Username, "addr", ra.SrcAddr.String())
		return "", nil, false
	}
	if user == "" {
		user = ra.Username
	}
	return user, pturn.GenerateAuthKey(ra.Username, ra.Realm, password), true
}

// quota refuses a new relay to a user holding MaxAllocations already.
func (s *Server) quota(username, _ string, _ net.Addr) bool {
	_, user, _ := parley.CheckTURNUsername(s.cfg.Secret, username, s.cfg.Now())
	if user == "" {
		user = username
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alloc[user] < s.cfg.MaxAllocations
}

func (s *Server) count(user string, d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alloc[user] += d; s.alloc[user] <= 0 {
		delete(s.alloc, user)
	}
}

// PeerAllowed is the relay's peer filter: a relay may send to any address
// except loopback, link-local, multicast and unspecified ones (so it cannot
// be turned against the server's own host), unless the peer is the relay
// address itself (two relayed peers of one server talk through it).
// Private (RFC 1918) peers are allowed: LAN deployments need them.
func PeerAllowed(peer, relay net.IP) bool {
	if peer.Equal(relay) {
		return true
	}
	return !(peer.IsLoopback() || peer.IsLinkLocalUnicast() || peer.IsLinkLocalMulticast() ||
		peer.IsInterfaceLocalMulticast() || peer.IsMulticast() || peer.IsUnspecified())
}

// quietLogs silences pion's own loggers (errors reach slog through the
// server's callbacks where they matter).
type quietLogs struct{}

func (quietLogs) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, io.Discard)
}
