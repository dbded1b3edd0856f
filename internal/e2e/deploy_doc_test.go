package e2e_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The nginx and HAProxy configurations in docs/deploy.md are accepted by
// the real programs (nginx -t, haproxy -c), so the documentation cannot
// drift into something that does not start.
func TestDeployDocConfigsAreValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```(nginx|haproxy)\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		blocks[m[1]] = m[2]
	}
	if blocks["nginx"] == "" || blocks["haproxy"] == "" {
		t.Fatal("docs/deploy.md lost its nginx or haproxy configuration block")
	}
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)

	t.Run("nginx", func(t *testing.T) {
		bin := nginxBinary(t)
		conf := strings.NewReplacer(
			"/etc/ssl/chat.example.org/fullchain.pem", cert,
			"/etc/ssl/chat.example.org/privkey.pem", key,
		).Replace(blocks["nginx"])
		path := filepath.Join(dir, "nginx.conf")
		full := "pid " + filepath.Join(dir, "nginx.pid") + ";\nerror_log " + filepath.Join(dir, "error.log") +
			";\nevents {}\nhttp {\n" + conf + "\n}\n"
		if err := os.WriteFile(path, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-t", "-c", path, "-p", dir, "-e", filepath.Join(dir, "error.log")).CombinedOutput(); err != nil {
			t.Fatalf("nginx -t rejects the configuration in docs/deploy.md: %v\n%s", err, out)
		}
	})

	t.Run("haproxy", func(t *testing.T) {
		bin, err := exec.LookPath("haproxy")
		if err != nil {
			t.Skip("haproxy not installed (Debian package haproxy)")
		}
		both := filepath.Join(dir, "both.pem")
		c, _ := os.ReadFile(cert)
		k, _ := os.ReadFile(key)
		if err := os.WriteFile(both, append(c, k...), 0o600); err != nil {
			t.Fatal(err)
		}
		conf := strings.ReplaceAll(blocks["haproxy"], "/etc/haproxy/certs/chat.example.org.pem", both)
		path := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("haproxy -c rejects the configuration in docs/deploy.md: %v\n%s", err, out)
		}
	})
}

// selfSigned writes a throwaway certificate and key for configuration checks.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "chat.example.org"},
		DNSNames: []string{"chat.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
