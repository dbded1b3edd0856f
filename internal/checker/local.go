package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Local runs `parley serve` processes on this machine for the checker and
// injects faults into them: one node on embedded SQLite, or several nodes
// on one PostgreSQL database and one NATS server.
type Local struct {
	Nodes []*Node
	Log   io.Writer
	// Extra server-side faults (NATS or PostgreSQL restarts) and their
	// healers, added by whoever runs those services.
	Extra []Fault
	Heals []func(ctx context.Context) error
}

// Node is one `parley serve` process, restarted on the same port and data
// directory after a fault.
type Node struct {
	Name string
	Port int
	Bin  string
	Args []string
	Out  io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	paused bool
}

// URL is the node's base URL.
func (n *Node) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.Port) }

// NewNode describes a node on a free port; args follow "serve" (the
// listen address is added).
func NewNode(name, bin string, out io.Writer, args ...string) (*Node, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, Port: port, Bin: bin, Out: out}
	n.Args = append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--signups-per-hour", "0"}, args...)
	return n, nil
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the process (if it is not running) and waits until it is
// ready.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.cmd == nil {
		cmd := exec.Command(n.Bin, n.Args...) // #nosec G204 -- the parley binary with the checker's own arguments
		cmd.Stdout, cmd.Stderr = n.Out, n.Out
		if err := cmd.Start(); err != nil {
			n.mu.Unlock()
			return fmt.Errorf("start %s: %w", n.Name, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		n.cmd, n.done = cmd, done
	}
	done := n.done
	n.mu.Unlock()
	return waitReady(ctx, n.URL(), done)
}

func waitReady(ctx context.Context, base string, exited <-chan struct{}) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", base, ctx.Err())
		case <-exited:
			return fmt.Errorf("%s exited before it was ready", base)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Signal sends sig and, for SIGKILL and SIGTERM, waits for the exit.
func (n *Node) Signal(sig syscall.Signal) error {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	if cmd == nil {
		n.mu.Unlock()
		return nil
	}
	if n.paused && sig != syscall.SIGCONT {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		n.paused = false
	}
	switch sig {
	case syscall.SIGSTOP:
		n.paused = true
	case syscall.SIGCONT:
		n.paused = false
	}
	n.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		return err
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		n.mu.Lock()
		if n.cmd == cmd {
			n.cmd = nil
		}
		n.mu.Unlock()
	}
	return nil
}

// Stop ends the process for good (SIGKILL).
func (n *Node) Stop() { _ = n.Signal(syscall.SIGKILL) }

// URLs are the nodes' base URLs.
func (l *Local) URLs() []string {
	var u []string
	for _, n := range l.Nodes {
		u = append(u, n.URL())
	}
	return u
}

// Start starts every node (at the same moment) and waits for them.
func (l *Local) Start(ctx context.Context) error {
	errs := make([]error, len(l.Nodes))
	var wg sync.WaitGroup
	for i, n := range l.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = n.Start(ctx) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops every node.
func (l *Local) Close() {
	for _, n := range l.Nodes {
		n.Stop()
	}
}

// Faults are the node faults: kill -9 then restart after 0–1s ("kill"),
// SIGTERM then restart ("restart"), and with several nodes SIGSTOP for
// 1–4s then SIGCONT ("pause"). With one node, clients see the server
// gone; with several, the others keep serving.
func (l *Local) Faults() []Fault {
	pick := func(rng *rand.Rand) *Node { return l.Nodes[rng.IntN(len(l.Nodes))] }
	fs := []Fault{
		{Name: "kill", Do: func(ctx context.Context, rng *rand.Rand) error {
			n := pick(rng)
			if err := n.Signal(syscall.SIGKILL); err != nil {
				return err
			}
			sleep(ctx, time.Duration(rng.IntN(1000))*time.Millisecond)
			return n.Start(ctx)
		}},
		{Name: "restart", Do: func(ctx context.Context, rng *rand.Rand) error {
			n := pick(rng)
			if err := n.Signal(syscall.SIGTERM); err != nil {
				return err
			}
			return n.Start(ctx)
		}},
	}
	if len(l.Nodes) > 1 {
		fs = append(fs, Fault{Name: "pause", Do: func(ctx context.Context, rng *rand.Rand) error {
			n := pick(rng)
			if err := n.Signal(syscall.SIGSTOP); err != nil {
				return err
			}
			sleep(ctx, time.Second+time.Duration(rng.IntN(3000))*time.Millisecond)
			return n.Signal(syscall.SIGCONT)
		}})
	}
	return append(fs, l.Extra...)
}

// Heal resumes paused nodes, starts stopped ones, runs the extra healers
// and waits until every node is ready.
func (l *Local) Heal(ctx context.Context) error {
	for _, h := range l.Heals {
		if err := h(ctx); err != nil {
			return err
		}
	}
	for _, n := range l.Nodes {
		n.mu.Lock()
		paused := n.paused
		n.mu.Unlock()
		if paused {
			_ = n.Signal(syscall.SIGCONT)
		}
	}
	return l.Start(ctx)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
