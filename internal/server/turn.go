package server

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/turn"
)

// validateCalls checks the call settings (docs/calls.md).
func (c *Config) validateCalls() error {
	for _, u := range c.ICEURLs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
			!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("ice-urls: %q is not a stun:, stuns:, turn: or turns: URL", u)
		}
		if (strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:")) && c.TURNSecret == "" {
			return fmt.Errorf("ice-urls: the TURN URL %q needs --turn-secret (the TURN server's shared secret)", u)
		}
	}
	if c.TURNTTL < time.Minute || c.TURNTTL > 7*24*time.Hour {
		return fmt.Errorf("turn-ttl must be between 1m and 168h")
	}
	if c.TURN == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.TURN)
	if err != nil {
		return fmt.Errorf("turn: %q is not a host:port listen address", c.TURN)
	}
	if c.turnPublicIP() == nil {
		if c.TURNPublicIP != "" {
			return fmt.Errorf("turn-public-ip: %q is not an IPv4 address", c.TURNPublicIP)
		}
		return fmt.Errorf("turn: --turn-public-ip is required when --turn (%q) listens on every address", host)
	}
	if c.TURNRealm == "" {
		return fmt.Errorf("turn-realm must not be empty")
	}
	return nil
}

// turnPublicIP is the relay address: --turn-public-ip, or the host of
// --turn when it names one IP. nil if neither is a usable IPv4 address.
func (c *Config) turnPublicIP() net.IP {
	s := c.TURNPublicIP
	if s == "" {
		s, _, _ = net.SplitHostPort(c.TURN)
	}
	ip := net.ParseIP(s).To4()
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}

// openTURN starts the embedded TURN server if configured and returns cfg
// with its URLs first in ICEURLs and the credential secret filled in.
func (s *Server) openTURN(cfg Config) (Config, error) {
	if cfg.TURN == "" {
		return cfg, nil
	}
	if cfg.TURNSecret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return cfg, err
		}
		cfg.TURNSecret = base64.RawURLEncoding.EncodeToString(b)
	}
	t, err := turn.Start(turn.Config{Listen: cfg.TURN, PublicIP: cfg.turnPublicIP(), Realm: cfg.TURNRealm,
		Secret: cfg.TURNSecret, Logger: s.log})
	if err != nil {
		return cfg, err
	}
	s.TURN = t
	s.closers = append(s.closers, t.Close)
	cfg.ICEURLs = append(t.URLs(), cfg.ICEURLs...)
	s.log.Info("TURN/STUN server listening", "port", t.Port(), "public_ip", cfg.turnPublicIP().String(), "realm", cfg.TURNRealm)
	return cfg, nil
}
