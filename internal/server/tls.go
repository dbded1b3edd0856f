package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLS: with --tls-cert/--tls-key or --acme-domain the listener speaks
// HTTPS (TLS 1.2 or newer, HTTP/1.1: WebSocket upgrades need it), and
// --http-redirect-addr adds a plain-HTTP listener that redirects every
// request to the same path over HTTPS with 308 (and, with ACME, answers
// HTTP-01 challenges). Certificate files are read at start — a missing or
// bad file stops the start — and again on SIGHUP (a bad file then keeps the
// current certificate and logs why).

// TLS reports whether the configuration serves HTTPS.
func (c *Config) TLS() bool { return c.TLSCert != "" || len(c.ACMEDomains) > 0 }

func (c *Config) validateTLS() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls-cert and tls-key go together")
	}
	if c.TLSCert != "" && len(c.ACMEDomains) > 0 {
		return errors.New("tls-cert and acme-domain exclude each other: give certificate files or let ACME get them")
	}
	if len(c.ACMEDomains) == 0 && (c.ACMEEmail != "" || c.ACMEDir != "" || c.ACMEDirectory != "") {
		return errors.New("acme-email, acme-dir and acme-directory need acme-domain")
	}
	for _, d := range c.ACMEDomains {
		if !validDomain(d) {
			return fmt.Errorf("acme-domain %q is not a domain name (like chat.example.org: no scheme, port or wildcard)", d)
		}
	}
	if c.ACMEEmail != "" && !strings.Contains(c.ACMEEmail, "@") {
		return fmt.Errorf("acme-email %q is not an email address", c.ACMEEmail)
	}
	if c.ACMEDirectory != "" {
		u, err := url.Parse(c.ACMEDirectory)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("acme-directory must be an https:// URL, not %q", c.ACMEDirectory)
		}
	}
	if c.HTTPRedirectAddr != "" && !c.TLS() {
		return errors.New("http-redirect-addr needs HTTPS on (tls-cert/tls-key or acme-domain)")
	}
	return nil
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// certFiles holds the certificate loaded from --tls-cert/--tls-key.
type certFiles struct {
	cert, key string
	mu        sync.RWMutex
	current   *tls.Certificate
}

func (c *certFiles) load() error {
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return fmt.Errorf("tls-cert %s / tls-key %s: %w", c.cert, c.key, err)
	}
	c.mu.Lock()
	c.current = &pair
	c.mu.Unlock()
	return nil
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.current, nil
}

// checkTLSFiles reads the certificate files once before anything else
// opens, so that a wrong path stops the start at once.
func checkTLSFiles(cfg Config) error {
	if cfg.TLSCert == "" {
		return nil
	}
	return (&certFiles{cert: cfg.TLSCert, key: cfg.TLSKey}).load()
}

// openTLS wraps the listener in TLS and starts the redirect listener, when
// the configuration asks for them.
func (s *Server) openTLS() error {
	cfg := s.cfg
	if !cfg.TLS() {
		return nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	var acmeHandler func(http.Handler) http.Handler
	if cfg.TLSCert != "" {
		s.certs = &certFiles{cert: cfg.TLSCert, key: cfg.TLSKey}
		if err := s.certs.load(); err != nil {
			return err
		}
		tc.GetCertificate = s.certs.get
		s.watchSIGHUP()
	} else {
		dir := cfg.ACMEDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "acme")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("acme-dir: %w", err)
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(dir),
			HostPolicy: autocert.HostWhitelist(cfg.ACMEDomains...),
			Email:      cfg.ACMEEmail,
		}
		if cfg.ACMEDirectory != "" {
			m.Client = &acme.Client{DirectoryURL: cfg.ACMEDirectory}
		}
		s.acme = m
		tc.GetCertificate = m.GetCertificate
		tc.NextProtos = append(tc.NextProtos, acme.ALPNProto) // TLS-ALPN-01 challenges
		acmeHandler = m.HTTPHandler
	}
	s.ln = tls.NewListener(s.ln, tc)
	if cfg.HTTPRedirectAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.HTTPRedirectAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (http-redirect-addr): %w", cfg.HTTPRedirectAddr, err)
	}
	s.redirectLn = ln
	var h http.Handler = redirectToHTTPS(s.ln.Addr().(*net.TCPAddr).Port)
	if acmeHandler != nil {
		h = acmeHandler(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http redirect listener failed", "err", err)
		}
	}()
	s.closers = append(s.closers, func() error { err := srv.Close(); <-done; return err })
	return nil
}

func (s *Server) scheme() string {
	if s.cfg.TLS() {
		return "https"
	}
	return "http"
}

// acmeURL is the address people open with ACME on: the first domain (and
// the port unless 443); "" without ACME.
func (s *Server) acmeURL() string {
	if len(s.cfg.ACMEDomains) == 0 {
		return ""
	}
	u := "https://" + s.cfg.ACMEDomains[0]
	if port := s.ln.Addr().(*net.TCPAddr).Port; port != 443 {
		u += ":" + fmt.Sprint(port)
	}
	return u
}

// RedirectAddr returns the address of the HTTP→HTTPS redirect listener
// ("" without one).
func (s *Server) RedirectAddr() string {
	if s.redirectLn == nil {
		return ""
	}
	return s.redirectLn.Addr().String()
}

// redirectToHTTPS answers every request with 308 to the same host, path
// and query over HTTPS on port (omitted when 443).
func redirectToHTTPS(port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "Host header required", http.StatusBadRequest)
			return
		}
		if port != 443 {
			host = net.JoinHostPort(host, fmt.Sprint(port))
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		u := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
	})
}

// ReloadTLS reads --tls-cert/--tls-key again (what SIGHUP does). On error
// the current certificate stays in use.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return errors.New("no certificate files configured (--tls-cert/--tls-key)")
	}
	return s.certs.load()
}

// watchSIGHUP reloads the certificate files on SIGHUP until Close.
func (s *Server) watchSIGHUP() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-hup:
				if err := s.ReloadTLS(); err != nil {
					s.log.Error("TLS certificate reload failed; keeping the current one", "err", err)
				} else {
					s.log.Info("TLS certificate reloaded", "cert", s.cfg.TLSCert)
				}
			}
		}
	}()
	s.closers = append(s.closers, func() error { signal.Stop(hup); close(stop); <-done; return nil })
}
