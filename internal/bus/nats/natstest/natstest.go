// Package natstest gives tests a NATS server: the machine's (named by
// PARLEY_TEST_NATS) with a subject of their own, so tests run in parallel
// without seeing each other's events, or a private nats-server process they
// can stop and restart.
package natstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// EnvURL names the environment variable holding the test server's URL,
// e.g. nats://127.0.0.1:4222.
const EnvURL = "PARLEY_TEST_NATS"

func required() bool { return os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" }

// URL returns the machine's NATS URL after checking that it answers. It
// skips t when EnvURL is unset, and skips or fails it (with
// PARLEY_TEST_REQUIRE_SERVICES=1) when the server is unreachable.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if required() {
			t.Fatalf("%s is not set but PARLEY_TEST_REQUIRE_SERVICES=1", EnvURL)
		}
		t.Skipf("%s not set; skipping NATS test", EnvURL)
	}
	host := strings.TrimPrefix(strings.SplitN(u, ",", 2)[0], "nats://")
	if i := strings.IndexAny(host, "/?"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	c, err := net.DialTimeout("tcp", host, 5*time.Second) // #nosec G704 -- test helper dialling the configured test NATS
	if err != nil {
		if required() {
			t.Fatalf("NATS at %s unreachable: %v", EnvURL, err)
		}
		t.Skipf("NATS at %s unreachable: %v", EnvURL, err)
	}
	_ = c.Close()
	return u
}

// Subject returns a fresh subject for one test.
func Subject() string { return "parley.test." + parley.NewID() }

// ClusterURL returns the machine's NATS URL with a fresh subject parameter:
// every Bus opened on it belongs to one private cluster.
func ClusterURL(t testing.TB) string {
	t.Helper()
	return URL(t) + "?subject=" + Subject()
}

// Server is a private nats-server process on a loopback port.
type Server struct {
	t    testing.TB
	bin  string
	Port int
	cmd  *exec.Cmd
}

// StartServer starts nats-server (from PATH or /usr/sbin) on a free
// loopback port and stops it when the test ends. Without the binary the
// test skips, or fails under PARLEY_TEST_REQUIRE_SERVICES=1.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nats-server"); err2 == nil {
			bin, err = "/usr/sbin/nats-server", nil
		}
	}
	if err != nil {
		if required() {
			t.Fatalf("nats-server binary not found: %v", err)
		}
		t.Skipf("nats-server binary not found: %v", err)
	}
	s := &Server{t: t, bin: bin, Port: FreePort(t)}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's nats:// URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.Port) }

// Start (re)starts the process on the same port and waits until it accepts
// connections.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", fmt.Sprint(s.Port)) // #nosec G204 -- test helper: nats-server from PATH, fixed arguments
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	for i := 0; i < 200; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("nats-server did not come up on port %d", s.Port)
}

// Stop kills the process (as a crash would) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// FreePort returns a loopback TCP port that was free a moment ago (the
// kernel picks it; ports it hands out can be bound again on this machine).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
