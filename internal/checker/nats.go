package checker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// NATS is a private nats-server process on a free loopback port that the
// checker may kill and restart (the "nats" fault) without touching any
// server the machine runs.
type NATS struct {
	Bin  string
	Port int
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// NATSBinary finds nats-server on PATH or in /usr/sbin.
func NATSBinary() (string, error) {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server", nil
	}
	return "", fmt.Errorf("nats-server not found (Debian package nats-server)")
}

// StartNATS starts a private nats-server.
func StartNATS(ctx context.Context) (*NATS, error) {
	bin, err := NATSBinary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	n := &NATS{Bin: bin, Port: port}
	return n, n.Start(ctx)
}

// URL is the server's nats:// URL.
func (n *NATS) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.Port) }

// Start starts the process if it is not running and waits for its port.
func (n *NATS) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		cmd := exec.Command(n.Bin, "-a", "127.0.0.1", "-p", fmt.Sprint(n.Port)) // #nosec G204 -- nats-server found on PATH, fixed arguments
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start nats-server: %w", err)
		}
		n.cmd = cmd
	}
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.Port), time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nats-server did not come up: %w", ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Stop kills the process, as a crash would.
func (n *NATS) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
		n.cmd = nil
	}
}

// Fault kills NATS and starts it again after 0.5–3s.
func (n *NATS) Fault() Fault {
	return Fault{Name: "nats", Do: func(ctx context.Context, rng *rand.Rand) error {
		n.Stop()
		sleep(ctx, 500*time.Millisecond+time.Duration(rng.IntN(2500))*time.Millisecond)
		return n.Start(ctx)
	}}
}
