package checker_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/bus/nats/natstest"
	"github.com/parley-chat/parley/internal/checker"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// The checker's own tests: short runs against real `parley serve`
// processes. CI also runs `parley check` for longer (see .ci/run).

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary the tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// parleyBinary builds cmd/parley once for all tests of the package.
func parleyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "parley-checker-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "parley")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/parley-chat/parley/cmd/parley").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/parley: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// syncBuffer collects a process's output for the failure report.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func report(t *testing.T, res checker.Result, logs ...*syncBuffer) {
	t.Helper()
	var b bytes.Buffer
	res.Print(&b)
	t.Log("\n" + b.String())
	if !res.OK() {
		for _, l := range logs {
			out := l.String()
			if len(out) > 6000 {
				out = "…" + out[len(out)-6000:]
			}
			t.Log(out)
		}
		t.Fatal("nothing-lost check failed")
	}
}

// TestSingleNodeFaults: one SQLite node killed with SIGKILL and restarted
// gracefully at random moments, clients cut off, reconnect storms and slow
// consumers: every acked message stored once, in order, and delivered to
// every member's stream.
func TestSingleNodeFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection with real processes")
	}
	ctx := ctxFor(t)
	out := &syncBuffer{}
	n, err := checker.NewNode("node0", parleyBinary(t), out, "--data-dir", t.TempDir(), "--log-level", "warn", "--shutdown-grace", "2s")
	if err != nil {
		t.Fatal(err)
	}
	local := &checker.Local{Nodes: []*checker.Node{n}}
	t.Cleanup(local.Close)
	if err := local.Start(ctx); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	res, err := checker.Run(ctx, checker.Config{
		URLs: local.URLs(), Users: 6, Rate: 80, Duration: 12 * time.Second, FaultEvery: 1500 * time.Millisecond,
		Faults: local.Faults(), Heal: local.Heal, Drain: time.Minute, Log: log,
	})
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, log, out)
	}
	t.Log(log.String())
	if res.Faults["kill"]+res.Faults["restart"] == 0 {
		t.Log("no server fault happened to be drawn in this run")
	}
	report(t, res, out)
}

// TestCheckerDetectsRollback shows the checker has teeth: a fault that
// puts the data directory back to an earlier copy (what losing the
// unsynced tail on power loss would do if commits were not durable) must
// be reported as lost acknowledged messages.
func TestCheckerDetectsRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection with real processes")
	}
	ctx := ctxFor(t)
	out := &syncBuffer{}
	dir := t.TempDir()
	n, err := checker.NewNode("node0", parleyBinary(t), out, "--data-dir", dir, "--log-level", "error", "--shutdown-grace", "2s")
	if err != nil {
		t.Fatal(err)
	}
	local := &checker.Local{Nodes: []*checker.Node{n}}
	t.Cleanup(local.Close)
	if err := local.Start(ctx); err != nil {
		t.Fatal(err)
	}
	snap := t.TempDir()
	var step int
	rollback := checker.Fault{Name: "rollback", Do: func(ctx context.Context, rng *rand.Rand) error {
		step++
		if step == 1 { // take a consistent copy
			if err := n.Signal(syscall.SIGTERM); err != nil {
				return err
			}
			if err := copyDir(dir, snap); err != nil {
				return err
			}
			return n.Start(ctx)
		}
		if step == 2 { // crash and come back on the old copy
			if err := n.Signal(syscall.SIGKILL); err != nil {
				return err
			}
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			if err := copyDir(snap, dir); err != nil {
				return err
			}
			return n.Start(ctx)
		}
		return nil
	}}
	res, err := checker.Run(ctx, checker.Config{
		URLs: local.URLs(), Users: 4, Rate: 60, Duration: 5 * time.Second, FaultEvery: 1500 * time.Millisecond,
		Faults: []checker.Fault{rollback}, ClientFaults: []string{}, Heal: local.Heal, Drain: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var b bytes.Buffer
	res.Print(&b)
	t.Log("\n" + b.String())
	if step < 2 {
		t.Skip("the rollback fault was not drawn twice")
	}
	if res.OK() || res.Lost == 0 {
		t.Fatalf("the checker did not notice acked messages rolled back: lost=%d", res.Lost)
	}
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if d.Name() == "LOCK" || filepath.Ext(p) == ".lock" {
			return nil
		}
		b, err := os.ReadFile(p) // #nosec G304 -- test copying its own temp dir
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
}

// TestClusterFaults: three nodes on a private PostgreSQL and a private
// NATS; nodes killed and restarted, paused (SIGSTOP/SIGCONT), NATS and
// PostgreSQL restarted, clients cut off, storms and slow consumers.
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection with real processes")
	}
	ctx := ctxFor(t)
	pg := pgtest.StartPrivate(t)
	nats := natstest.StartServer(t)
	bin := parleyBinary(t)
	out := &syncBuffer{}
	local := &checker.Local{}
	t.Cleanup(local.Close)
	for i := 0; i < 3; i++ {
		n, err := checker.NewNode("node", bin, out, "--data-dir", t.TempDir(), "--db", pg.URL(), "--nats", nats.URL(),
			"--log-level", "error", "--shutdown-grace", "2s")
		if err != nil {
			t.Fatal(err)
		}
		local.Nodes = append(local.Nodes, n)
	}
	if err := local.Start(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var svcMu sync.Mutex // the fault loop and Heal never overlap, but be explicit
	local.Extra = []checker.Fault{
		{Name: "nats", Do: func(ctx context.Context, rng *rand.Rand) error {
			svcMu.Lock()
			defer svcMu.Unlock()
			nats.Stop()
			time.Sleep(500*time.Millisecond + time.Duration(rng.IntN(1500))*time.Millisecond)
			nats.Start()
			return nil
		}},
		{Name: "postgres", Do: func(ctx context.Context, rng *rand.Rand) error {
			svcMu.Lock()
			defer svcMu.Unlock()
			pg.Stop()
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			pg.Start()
			return nil
		}},
	}
	log := &syncBuffer{}
	res, err := checker.Run(ctx, checker.Config{
		URLs: local.URLs(), Users: 6, Rate: 60, Duration: 15 * time.Second, FaultEvery: 1500 * time.Millisecond,
		Faults: local.Faults(), Heal: local.Heal, Drain: time.Minute, Log: log,
	})
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, log, out)
	}
	t.Log(log.String())
	report(t, res, out)
}
