package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parley test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert, key, pool}
}

// issue writes a certificate for 127.0.0.1 and localhost with serial
// number serial, and its key, as PEM files in dir.
func (ca *testCA) issue(t *testing.T, dir string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func (ca *testCA) httpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestTLSWithCertificateFiles serves HTTPS from PEM files signed by a CA
// made in the test: REST and WebSocket (wss) work, plain HTTP on the
// redirect listener gets 308 to the same path over HTTPS, and SIGHUP's
// reload picks up a new certificate (a bad one keeps the current).
func TestTLSWithCertificateFiles(t *testing.T) {
	ctx := context.Background()
	ca := newTestCA(t)
	pemDir := t.TempDir()
	certFile, keyFile := ca.issue(t, pemDir, 100)
	env := apitest.Start(t, func(c *server.Config) {
		c.TLSCert, c.TLSKey, c.HTTPRedirectAddr = certFile, keyFile, "127.0.0.1:0"
	})
	if !strings.HasPrefix(env.URL, "https://") {
		t.Fatalf("URL %q is not https", env.URL)
	}
	hc := ca.httpClient()
	serial := func() int64 {
		t.Helper()
		res, err := hc.Get(env.URL + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz over TLS: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.TLS == nil {
			t.Fatalf("status %d, tls %v", res.StatusCode, res.TLS != nil)
		}
		return res.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 100 {
		t.Fatalf("serial %d", got)
	}
	// A client that does not trust the CA is refused.
	if _, err := http.Get(env.URL + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusting client: %v", err)
	}

	// REST and wss through the SDK.
	c := client.New(env.URL, client.WithHTTPClient(hc))
	if _, err := c.Register(ctx, client.RegisterRequest{Username: "alice", Password: apitest.Password}); err != nil {
		t.Fatal(err)
	}
	g := newGroup(t, c, "over tls")
	rt, err := c.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer rt.Close()
	m, err := rt.SendMessage(ctx, g.ID, "tls-1", "hello over wss")
	if err != nil || m.Seq == 0 {
		t.Fatalf("send over wss: %+v %v", m, err)
	}

	// Plain HTTP is redirected to HTTPS, path and query kept.
	port := env.URL[strings.LastIndex(env.URL, ":")+1:]
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, "http://"+env.Server.RedirectAddr()+"/api/v1/me?x=1", nil)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := "https://127.0.0.1:" + port + "/api/v1/me?x=1"; res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
			t.Errorf("%s over plain HTTP: %d Location %q, want 308 %q", method, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	// The TLS port does not answer plain HTTP.
	if res, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Error("plain HTTP served on the TLS port")
	}

	// Reload: a broken pair keeps the current certificate; a new one is
	// served to new connections.
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := env.Server.ReloadTLS(); err == nil {
		t.Error("reload of a broken key succeeded")
	}
	hc.CloseIdleConnections()
	if got := serial(); got != 100 {
		t.Errorf("after a failed reload: serial %d, want the old 100", got)
	}
	ca.issue(t, pemDir, 200)
	if err := env.Server.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	hc.CloseIdleConnections()
	if got := serial(); got != 200 {
		t.Errorf("after reload: serial %d, want 200", got)
	}
	// SIGHUP does the same (the server listens for it while it runs).
	ca.issue(t, pemDir, 300)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // the reload runs on the server's signal goroutine
		hc.CloseIdleConnections()
		got := serial()
		if got == 300 {
			break
		}
		if i == 1000 {
			t.Fatalf("SIGHUP did not reload: still serial %d", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLSBadFilesFailAtStart checks that a server with unusable
// certificate files does not start, and says which file.
func TestTLSBadFilesFailAtStart(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.issue(t, dir, 1)
	otherCert, _ := ca.issue(t, t.TempDir(), 2)
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"), 0o600)
	for name, tc := range map[string]struct{ cert, key, want string }{
		"missing cert":        {filepath.Join(dir, "nope.pem"), keyFile, "no such file"},
		"missing key":         {certFile, filepath.Join(dir, "nope.pem"), "no such file"},
		"garbage cert":        {garbage, keyFile, "tls-cert"},
		"key of another cert": {otherCert, keyFile, "private key does not match"},
		"cert without key":    {certFile, "", "go together"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := server.Default()
			cfg.Addr, cfg.DataDir, cfg.LogLevel = "127.0.0.1:0", t.TempDir(), "error"
			cfg.PasswordParams = app.FastPasswordParams()
			cfg.TLSCert, cfg.TLSKey = tc.cert, tc.key
			srv, err := server.New(context.Background(), cfg, nil)
			if err == nil {
				srv.Close()
				t.Fatal("server started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestACMEIsWired checks what can be checked of ACME without a reachable
// ACME server: the configuration is validated, the redirect listener hands
// HTTP-01 challenge paths to autocert (404 for an unknown token, instead of
// the redirect), the TLS listener offers the TLS-ALPN-01 protocol and
// refuses names outside --acme-domain, and the cache directory defaults to
// <data-dir>/acme.
func TestACMEIsWired(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) {
		c.ACMEDomains = []string{"chat.example.org"}
		c.ACMEEmail = "ops@example.org"
		c.ACMEDirectory = "https://127.0.0.1:1/directory" // nothing listens: no certificate can be had
		c.HTTPRedirectAddr = "127.0.0.1:0"
	})
	if st, err := os.Stat(filepath.Join(env.Config.DataDir, "acme")); err != nil || !st.IsDir() {
		t.Errorf("acme cache dir: %v", err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + env.Server.RedirectAddr()
	for host, want := range map[string]int{"chat.example.org": http.StatusNotFound, "evil.example.org": http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodGet, base+"/.well-known/acme-challenge/unknown-token", nil)
		req.Host = host
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("HTTP-01 path for %s: status %d, want autocert's %d", host, res.StatusCode, want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/chat", nil)
	req.Host = "chat.example.org"
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPermanentRedirect || !strings.HasPrefix(res.Header.Get("Location"), "https://chat.example.org:") {
		t.Errorf("redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	addr := strings.TrimPrefix(env.URL, "https://")
	for _, tc := range []struct{ name, sni, alpn string }{
		{"name outside --acme-domain", "evil.example.org", "http/1.1"},
		{"tls-alpn-01 without a pending challenge", "chat.example.org", "acme-tls/1"},
	} {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: tc.sni, NextProtos: []string{tc.alpn}, InsecureSkipVerify: true}) // #nosec G402 -- the handshake must fail before any certificate
		if err == nil {
			conn.Close()
			t.Errorf("%s: handshake succeeded", tc.name)
		}
	}
}

func TestTLSConfigValidation(t *testing.T) {
	for name, set := range map[string]func(*server.Config){
		"key without cert":          func(c *server.Config) { c.TLSKey = "k.pem" },
		"files and acme":            func(c *server.Config) { c.TLSCert, c.TLSKey, c.ACMEDomains = "c", "k", []string{"a.example.org"} },
		"acme email without domain": func(c *server.Config) { c.ACMEEmail = "a@example.org" },
		"acme dir without domain":   func(c *server.Config) { c.ACMEDir = "/tmp/x" },
		"domain with scheme":        func(c *server.Config) { c.ACMEDomains = []string{"https://a.example.org"} },
		"domain with port":          func(c *server.Config) { c.ACMEDomains = []string{"a.example.org:443"} },
		"wildcard domain":           func(c *server.Config) { c.ACMEDomains = []string{"*.example.org"} },
		"single-label domain":       func(c *server.Config) { c.ACMEDomains = []string{"localhost"} },
		"bad email":                 func(c *server.Config) { c.ACMEDomains, c.ACMEEmail = []string{"a.example.org"}, "nobody" },
		"bad directory":             func(c *server.Config) { c.ACMEDomains, c.ACMEDirectory = []string{"a.example.org"}, "ftp://x/dir" },
		"redirect without tls":      func(c *server.Config) { c.HTTPRedirectAddr = ":80" },
	} {
		cfg := server.Default()
		set(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := server.Default()
	cfg.ACMEDomains, cfg.ACMEEmail, cfg.HTTPRedirectAddr = []string{"chat.example.org", "parley.example.org"}, "ops@example.org", ":80"
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid ACME configuration refused: %v", err)
	}
}
