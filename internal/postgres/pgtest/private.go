package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Private is a PostgreSQL server of a test's own (initdb in a temporary
// directory, a free loopback port), which the test may stop and start as an
// operator restarting the database would, without disturbing the machine's
// server that other tests share.
type Private struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	run  func(name string, args ...string) *exec.Cmd
}

// StartPrivate creates and starts a private server. It skips the test when
// the PostgreSQL server binaries (initdb, pg_ctl) are missing, or when the
// test runs as root and there is no postgres account to run them as.
func StartPrivate(t testing.TB) *Private {
	t.Helper()
	URL(t) // the same skip/fail rules as every PostgreSQL test
	bin := findBin()
	if bin == "" {
		t.Skip("initdb/pg_ctl not found")
	}
	p := &Private{t: t, bin: bin}
	p.run = exec.Command
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres account")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.run = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...) // #nosec G204 -- test helper running PostgreSQL's own binaries
		}
	}
	p.dir = filepath.Join(dir, "data")
	if out, err := p.run(filepath.Join(bin, "initdb"), "-D", p.dir, "-A", "trust", "-U", "postgres",
		"--no-sync", "-E", "UTF8", "--locale", "C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

func findBin() string {
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(path)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return ""
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1])
}

// URL is the private server's connection URL (database postgres).
func (p *Private) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// Start starts the server and waits until it accepts connections.
func (p *Private) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories='' -c fsync=off", p.Port)
	if out, err := p.run(filepath.Join(p.bin, "pg_ctl"), "-D", p.dir, "-o", opts, "-l", filepath.Join(p.dir, "log"),
		"-w", "-t", "60", "start").CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, p.URL())
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatal("private PostgreSQL did not accept connections")
}

// Stop stops the server at once (immediate mode: like a crash, clients'
// connections drop). It is safe to call when already stopped.
func (p *Private) Stop() {
	_ = p.run(filepath.Join(p.bin, "pg_ctl"), "-D", p.dir, "-m", "immediate", "-w", "stop").Run()
}
