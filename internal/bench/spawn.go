package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// spawned is a `parley serve` child process on a throwaway data dir.
type spawned struct {
	cmd  *exec.Cmd
	url  string
	pid  int
	dir  string
	done chan struct{}
}

// spawnServer starts `parley serve` as a separate process (so the server's
// CPU and memory are measured apart from the generator's) on a free
// loopback port below 32768 and a temporary data dir removed afterwards.
func spawnServer(ctx context.Context, cfg Config) (*spawned, error) {
	bin := cfg.ServeBin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bin = exe
	}
	dir, err := os.MkdirTemp("", "parley-bench-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"serve", "--addr", addr, "--data-dir", dir, "--log-level", "warn",
		"--signups-per-hour", "0"}, cfg.ServeArgs...) // workloads register thousands of accounts
	cmd := exec.Command(bin, args...) // #nosec G204 -- runs the parley binary the operator chose
	cmd.Stdout = cfg.Err
	cmd.Stderr = cfg.Err
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &spawned{cmd: cmd, url: "http://" + addr, pid: cmd.Process.Pid, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	fmt.Fprintf(cfg.Err, "bench: spawned %s %v (pid %d)\n", bin, args, s.pid)
	return s, nil
}

func (s *spawned) stop(log io.Writer) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		fmt.Fprintln(log, "bench: server did not stop in 20s; killing it")
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

// freePort picks a free TCP port in 20000–32767 (binding fixed ports in the
// ephemeral range fails on these machines).
func freePort() (int, error) {
	for i := 0; i < 100; i++ {
		p := 20000 + rand.IntN(12768) // #nosec G404 -- picking a port, not a secret
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port found")
}

// findServerPID finds the local process listening on the target's port.
func findServerPID(target string) int {
	u, err := url.Parse(target)
	if err != nil {
		return 0
	}
	host, portS := u.Hostname(), u.Port()
	if portS == "" {
		portS = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0
	}
	port, _ := strconv.Atoi(portS)
	return FindListener(port)
}
