package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/bus/nats/natstest"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// A cluster of real `parley serve` processes on one PostgreSQL schema and
// one NATS subject, behind nginx, for the multi-node tests.

// parleyBinary builds cmd/parley into the test's temporary directory.
func parleyBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/parley-chat/parley/cmd/parley").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/parley: %v\n%s", err, out)
	}
	return bin
}

// node is one `parley serve` process.
type node struct {
	name string
	port int
	args []string
	dir  string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
}

func (n *node) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.port) }

type cluster struct {
	t      *testing.T
	nodes  []*node
	lbPort int
	nginx  *exec.Cmd
	lbDir  string
	bin    string
	DB     string
	NATS   string
}

// LB is the load balancer's base URL.
func (c *cluster) LB() string { return fmt.Sprintf("http://127.0.0.1:%d", c.lbPort) }

// nginxBinary finds nginx, skipping the test without it (failing under
// PARLEY_TEST_REQUIRE_SERVICES=1).
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal("nginx not found (Debian package nginx)")
	}
	t.Skip("nginx not found (Debian package nginx)")
	return ""
}

// startCluster starts n nodes and nginx in front of them and waits until
// all of them are ready. Everything is stopped when the test ends.
func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	return startClusterOn(t, n, natstest.ClusterURL(t))
}

// startClusterOn is startCluster with the nodes' --nats URL given.
func startClusterOn(t *testing.T, n int, natsURL string) *cluster {
	t.Helper()
	nginx := nginxBinary(t)
	c := &cluster{t: t, DB: pgtest.Schema(t), NATS: natsURL}
	c.bin = parleyBinary(t)
	for i := 0; i < n; i++ {
		nd := &node{name: fmt.Sprintf("node%d", i), port: natstest.FreePort(t), dir: t.TempDir()}
		nd.args = []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", nd.port), "--db", c.DB, "--nats", c.NATS,
			"--data-dir", nd.dir, "--trust-proxy", "--log-level", "warn", "--shutdown-grace", "2s", "--signups-per-hour", "0"}
		c.nodes = append(c.nodes, nd)
	}
	// All nodes start at the same moment: migrations must cope.
	for _, nd := range c.nodes {
		c.start(nd, c.bin)
	}
	for _, nd := range c.nodes {
		c.waitReady(nd.URL())
	}
	c.startNginx(nginx)
	c.waitReady(c.LB())
	t.Cleanup(c.stop)
	return c
}

func (c *cluster) start(nd *node, bin string) {
	c.t.Helper()
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.log == nil {
		nd.log = &bytes.Buffer{}
	}
	cmd := exec.Command(bin, nd.args...)
	cmd.Stdout, cmd.Stderr = lockedWriter{&nd.mu, nd.log}, lockedWriter{&nd.mu, nd.log}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", nd.name, err)
	}
	nd.cmd, nd.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(nd.done)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	// The node's mutex is held by start only while starting; writes come later.
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// kill ends a node with SIGKILL, as a crash would, and waits for it.
func (c *cluster) kill(i int) {
	nd := c.nodes[i]
	_ = nd.cmd.Process.Signal(syscall.SIGKILL)
	<-nd.done
}

// restart starts a killed node again on the same port.
func (c *cluster) restart(i int) {
	c.t.Helper()
	c.start(c.nodes[i], c.bin)
	c.waitReady(c.nodes[i].URL())
}

func (c *cluster) waitReady(base string) {
	c.t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.dumpLogs()
	c.t.Fatalf("%s never became ready", base)
}

func (c *cluster) dumpLogs() {
	for _, nd := range c.nodes {
		nd.mu.Lock()
		out := nd.log.String()
		nd.mu.Unlock()
		if len(out) > 8000 {
			out = "…" + out[len(out)-8000:]
		}
		c.t.Logf("--- %s log:\n%s", nd.name, out)
	}
	if c.lbDir != "" {
		if b, err := os.ReadFile(filepath.Join(c.lbDir, "error.log")); err == nil {
			c.t.Logf("--- nginx error log:\n%s", b)
		}
	}
}

// nginxConf is the load balancer's configuration: round robin over the
// nodes, WebSocket upgrade, passive health checks (a node that refuses
// connections is skipped for fail_timeout), and retries of requests that
// could not be sent to a node on the next one.
const nginxConf = `{{user}}
worker_processes 1;
daemon off;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path {{dir}}/body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      '';
    }
    upstream parley {
{{servers}}
        keepalive 32;
    }
    server {
        listen 127.0.0.1:{{port}};
        location / {
            proxy_pass http://parley;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
        }
    }
}
`

func (c *cluster) startNginx(bin string) {
	c.t.Helper()
	c.lbDir = c.t.TempDir()
	c.lbPort = natstest.FreePort(c.t)
	var servers strings.Builder
	for _, nd := range c.nodes {
		fmt.Fprintf(&servers, "        server 127.0.0.1:%d max_fails=1 fail_timeout=2s;\n", nd.port)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must reach the temp dirs of a root-run test
	}
	conf := strings.NewReplacer("{{user}}", user, "{{dir}}", c.lbDir, "{{servers}}", servers.String(),
		"{{port}}", fmt.Sprint(c.lbPort)).Replace(nginxConf)
	path := filepath.Join(c.lbDir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.nginx = exec.Command(bin, "-c", path, "-p", c.lbDir, "-e", filepath.Join(c.lbDir, "error.log"))
	var out bytes.Buffer
	c.nginx.Stdout, c.nginx.Stderr = &out, &out
	if err := c.nginx.Start(); err != nil {
		c.t.Fatalf("start nginx: %v", err)
	}
	for i := 0; i < 200; i++ {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.lbPort), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.t.Fatalf("nginx did not start: %s", out.String())
}

func (c *cluster) stop() {
	if c.t.Failed() {
		c.dumpLogs()
	}
	if c.nginx != nil && c.nginx.Process != nil {
		_ = c.nginx.Process.Signal(syscall.SIGQUIT)
		waitOrKill(c.nginx, 5*time.Second)
	}
	for _, nd := range c.nodes {
		select {
		case <-nd.done:
			continue
		default:
		}
		_ = nd.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-nd.done:
		case <-time.After(10 * time.Second):
			_ = nd.cmd.Process.Kill()
			<-nd.done
		}
	}
}

func waitOrKill(cmd *exec.Cmd, d time.Duration) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
	}
}

// ctx returns a context bounded by the test's patience.
func clusterCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
