package server

import (
	"fmt"
	"github.com/parley-chat/parley/internal/httpapi"
	"net"
	"os"
	"strings"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/xmpp"
)

// openXMPP builds the XMPP gateway and binds its listener when --xmpp is set.
func (s *Server) openXMPP(rt *app.Realtime) error {
	cfg := s.cfg
	if cfg.XMPP == "" {
		return nil
	}
	domain := cfg.XMPPDomain
	if domain == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		domain = h
	}
	tlsCfg, err := xmpp.TLSConfig(cfg.XMPPTLSCert, cfg.XMPPTLSKey, cfg.DataDir, domain)
	if err != nil {
		return err
	}
	s.XMPP = xmpp.New(rt, s.log, xmpp.Config{Domain: domain, TLS: tlsCfg, StanzaRate: cfg.WSFrameRate,
		Files: s.xmppFileLinks()})
	unsubscribe, err := s.Bus.Subscribe(s.XMPP.HandleEvent)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() error { unsubscribe(); return nil }, s.XMPP.Close)
	if s.xmppLn, err = net.Listen("tcp", cfg.XMPP); err != nil {
		return fmt.Errorf("listen on %s (xmpp): %w", cfg.XMPP, err)
	}
	ln := s.xmppLn
	s.closers = append(s.closers, func() error { _ = ln.Close(); return nil })
	return nil
}

// serveXMPP serves the XMPP listener, if any, reporting its end on errc.
func (s *Server) serveXMPP(errc chan<- error) {
	if s.xmppLn == nil {
		return
	}
	s.log.Info("xmpp serving", "addr", s.xmppLn.Addr().String(), "domain", s.XMPP.Domain())
	go func() { errc <- s.XMPP.Serve(s.xmppLn) }()
}

// XMPPAddr returns the address the XMPP listener is bound to ("" if off).
func (s *Server) XMPPAddr() string {
	if s.xmppLn == nil {
		return ""
	}
	return s.xmppLn.Addr().String()
}

// xmppFileLinks makes the XMPP gateway's file URLs absolute on the public
// URL (read when a link is made: the listener is bound after the gateway).
func (s *Server) xmppFileLinks() *xmpp.FileLinks {
	return &xmpp.FileLinks{
		Slot: func(token, name string) string { return s.publicURL() + httpapi.SlotPath(token, name) },
		File: func(id, sig, name string) string { return s.publicURL() + httpapi.FileCapabilityPath(id, sig, name) },
		Parse: func(u string) (string, bool) {
			rest, ok := strings.CutPrefix(u, s.publicURL())
			if !ok {
				return "", false
			}
			return httpapi.ParseFileCapabilityPath(rest)
		},
	}
}
