package xmpp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

const domain = "parley.test"

// requireSlixmpp skips the test without Debian's python3-slixmpp (fails
// under PARLEY_TEST_REQUIRE_SERVICES=1).
func requireSlixmpp(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import slixmpp").Run(); err != nil {
		if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("python3-slixmpp is required: %v", err)
		}
		t.Skip("python3-slixmpp not installed (apt-get install python3-slixmpp)")
	}
}

// startXMPP starts a Parley server with the XMPP gateway on.
func startXMPP(t testing.TB, configure func(*server.Config)) (*apitest.Env, string) {
	t.Helper()
	env := apitest.Start(t, func(c *server.Config) {
		c.XMPP = "127.0.0.1:0"
		c.XMPPDomain = domain
		if configure != nil {
			configure(c)
		}
	})
	return env, env.Server.XMPPAddr()
}

// py is one scripted slixmpp client (testdata/client.py).
type py struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	mu     sync.Mutex
	events []map[string]any
	signal chan struct{}
	exited chan struct{}
}

func startPy(t *testing.T, addr, user, password, mech string) *py {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	jid := user + "@" + domain
	if strings.Contains(user, "@") {
		jid = user
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/client.py", host, port, jid, password, mech)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &py{t: t, name: user, cmd: cmd, in: in, signal: make(chan struct{}, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
			select {
			case p.signal <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = in.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", user, stderr.String())
		}
	})
	return p
}

func (p *py) do(cmd map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("%s: write command: %v", p.name, err)
	}
}

// wait returns (and consumes) the first event of kind ev matching match.
func (p *py) wait(ev string, match func(map[string]any) bool) map[string]any {
	p.t.Helper()
	e, ok := p.waitFor(ev, match, 30*time.Second, true)
	if !ok {
		p.t.Fatalf("%s: no %s event", p.name, ev)
	}
	return e
}

// waitFor is wait that, unless fatal, reports a timeout instead of failing.
func (p *py) waitFor(ev string, match func(map[string]any) bool, timeout time.Duration, fatal bool) (map[string]any, bool) {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for i, e := range p.events {
			if e["event"] == ev && (match == nil || match(e)) {
				p.events = append(p.events[:i:i], p.events[i+1:]...)
				p.mu.Unlock()
				return e, true
			}
			if e["event"] == "error" && fatal {
				p.mu.Unlock()
				p.t.Fatalf("%s: client error %v", p.name, e)
			}
		}
		p.mu.Unlock()
		select {
		case <-p.signal:
		case <-p.exited:
			p.mu.Lock()
			evs := fmt.Sprint(p.events)
			p.mu.Unlock()
			if !fatal {
				return nil, false
			}
			p.t.Fatalf("%s: client exited waiting for %s; events %s", p.name, ev, evs)
		case <-deadline:
			p.mu.Lock()
			evs := fmt.Sprint(p.events)
			p.mu.Unlock()
			if !fatal {
				return nil, false
			}
			p.t.Fatalf("%s: no %s event; events %s", p.name, ev, evs)
		}
	}
}

// none fails if an event of kind ev is pending.
func (p *py) none(ev string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.events {
		if e["event"] == ev {
			p.t.Fatalf("%s: unexpected %v", p.name, e)
		}
	}
}

func field(k, v string) func(map[string]any) bool {
	return func(e map[string]any) bool { return fmt.Sprint(e[k]) == v }
}

var ctx = context.Background()
