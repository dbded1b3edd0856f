package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startLogged runs a node whose info-level log is captured.
func startLogged(t *testing.T, configure func(*server.Config)) (*server.Server, *syncBuf, string) {
	t.Helper()
	cfg := server.Default()
	cfg.Addr = "127.0.0.1:0"
	dir, err := os.MkdirTemp("", "psrv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg.DataDir = dir
	cfg.PasswordParams = app.FastPasswordParams()
	if configure != nil {
		configure(&cfg)
	}
	logs := &syncBuf{}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitLog(logs, "registration")
	return srv, logs, dir
}

// waitLog waits (up to 30 s: the machine may be busy) for a log line
// containing s.
func waitLog(logs *syncBuf, s string) {
	for i := 0; i < 1500 && !strings.Contains(logs.String(), s); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartupLogStatesURLPolicyAndSetupLink(t *testing.T) {
	srv, logs, _ := startLogged(t, nil)
	waitLog(logs, "no admin account yet")
	out := logs.String()
	if !strings.Contains(out, "parley serving at "+srv.URL()) {
		t.Errorf("no URL in the start-up line:\n%s", out)
	}
	if !strings.Contains(out, "registration open: anyone who can reach "+srv.URL()+" can create an account; --registration=invite to restrict") {
		t.Errorf("no registration line:\n%s", out)
	}
	m := regexp.MustCompile(`\?setup=([A-Za-z0-9_-]{43})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no setup link:\n%s", out)
	}
	// The link works once and makes an admin.
	u, _, err := srv.App.Register(context.Background(), app.RegisterInput{Username: "root", Password: "root-password", Setup: m[1]})
	if err != nil || u.Role != "admin" {
		t.Fatalf("register with the logged setup token: %+v, %v", u, err)
	}

	_, logs2, _ := startLogged(t, func(c *server.Config) { c.Registration = "invite" })
	if !strings.Contains(logs2.String(), "registration by invite") {
		t.Errorf("invite policy not stated:\n%s", logs2.String())
	}
}

func TestAdminSocketServesTheOperatorAPI(t *testing.T) {
	_, _, dir := startLogged(t, nil)
	sock := filepath.Join(dir, server.AdminSocketName)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket %s: %v, %v", sock, fi, err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	res, err := c.Get("http://parley/api/v1/admin/overview")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("overview over the admin socket without a token: %d", res.StatusCode)
	}
}

func TestAbnormalWebSocketCloseIsLogged(t *testing.T) {
	srv, logs, _ := startLogged(t, nil)
	u := strings.Replace(srv.URL(), "http://", "ws://", 1) + "/api/v1/ws"
	conn, _, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := wsutil.WriteClientText(conn, []byte(`{"type":"auth","token":"bad"}`)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := wsutil.ReadServerText(conn); err != nil {
			break
		}
	}
	waitLog(logs, "websocket closed")
	if !regexp.MustCompile(`msg="websocket closed" conn_id=\S+ user_id="" code=4\d\d\d`).MatchString(logs.String()) {
		t.Fatalf("no close line:\n%s", logs.String())
	}
}
