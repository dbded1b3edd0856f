package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// Abuse: hostile or broken clients must not hurt anyone else. Each test
// below keeps a witness — two well-behaved users in a direct chat, one of
// them with a live WebSocket — sending and receiving while the abuse goes
// on, and at the end checks that every acknowledged witness message is in
// history exactly once and in order (nothing lost). Bad WebSocket frames
// (invalid UTF-8, oversized, binary, frame floods) are in
// TestRealtimeBadFrames, sign-in rate limits in
// TestSignInDoesNotRevealAccountsAndIsRateLimited, send floods in
// TestSendFloodIsRateLimited; this file adds the rest and the witness.
//
// Timing is never asserted: the guards below (15–40s) only keep a hung
// server from hanging the test.

type witness struct {
	t      *testing.T
	sender *client.Client
	conv   string
	rt     *client.Realtime
	mu     sync.Mutex
	got    map[string]bool
	acked  []parley.Message
	n      int
}

func newWitness(t *testing.T, env *apitest.Env) *witness {
	t.Helper()
	ctx := context.Background()
	a, _ := env.NewUser(t, "witness_a")
	b, ub := env.NewUser(t, "witness_b")
	conv, _, err := a.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{ub.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := b.Connect(ctx, client.RealtimeOptions{Since: map[string]int64{conv.ID: 0}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	w := &witness{t: t, sender: a, conv: conv.ID, rt: rt, got: map[string]bool{}}
	go func() {
		for ev := range rt.Events() {
			if ev.Type == "message" && ev.Message != nil {
				w.mu.Lock()
				w.got[ev.Message.ID] = true
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// check sends one message and waits until the live socket delivers it:
// the server is still serving well-behaved clients.
func (w *witness) check(label string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.n++
	m, _, err := w.sender.Send(ctx, w.conv, client.SendRequest{ClientMsgID: fmt.Sprintf("witness-%d", w.n), Body: label})
	if err != nil {
		w.t.Fatalf("%s: the witness could not send: %v", label, err)
	}
	w.acked = append(w.acked, m)
	for {
		w.mu.Lock()
		ok := w.got[m.ID]
		w.mu.Unlock()
		if ok {
			return
		}
		if ctx.Err() != nil {
			w.t.Fatalf("%s: the witness's message never arrived on the live socket", label)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// final checks every acked witness message is in history once, in order.
func (w *witness) final() {
	w.t.Helper()
	hist, err := w.sender.History(context.Background(), w.conv, client.HistoryQuery{Limit: 200})
	if err != nil {
		w.t.Fatal(err)
	}
	count := map[string]int{}
	var last int64
	for _, m := range hist {
		count[m.ID]++
		if m.Seq <= last {
			w.t.Errorf("history out of order at seq %d", m.Seq)
		}
		last = m.Seq
	}
	for _, m := range w.acked {
		if count[m.ID] != 1 {
			w.t.Errorf("acked witness message %d (%q) stored %d times", m.Seq, m.Body, count[m.ID])
		}
	}
}

// rawPost sends one request on its own connection and returns the status.
func rawPost(t *testing.T, base, path, token string, body io.Reader, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestAbuseBadBodies: deeply nested JSON, oversized bodies and headers,
// invalid UTF-8 and a JSON bomb of many keys are refused with 4xx; the
// witness keeps being served and nothing it sent is lost.
func TestAbuseBadBodies(t *testing.T) {
	env := apitest.Start(t, nil)
	w := newWitness(t, env)
	w.check("before")
	tok := w.sender.Token()
	path := "/api/v1/conversations/" + w.conv + "/messages"

	cases := []struct {
		name string
		body string
		want []int
	}{
		{"nested arrays", strings.Repeat("[", 200000) + strings.Repeat("]", 200000), []int{400}},
		{"nested objects", strings.Repeat(`{"body":`, 50000) + `"x"` + strings.Repeat("}", 50000), []int{400}},
		{"nested in a field", `{"client_msg_id":"n1","body":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, []int{400}},
		{"oversized body", `{"client_msg_id":"big","body":"` + strings.Repeat("a", 2<<20) + `"}`, []int{413}},
		{"invalid utf-8", "{\"client_msg_id\":\"u1\",\"body\":\"\xff\xfe\xfd\"}", []int{400}},
		{"many keys", "{" + strings.Repeat(`"a":1,`, 100000) + `"b":2}`, []int{400, 413}},
		{"truncated", `{"client_msg_id":"t1","body":"abc`, []int{400}},
	}
	for _, c := range cases {
		got := rawPost(t, env.URL, path, tok, strings.NewReader(c.body), nil)
		ok := false
		for _, s := range c.want {
			ok = ok || got == s
		}
		if !ok {
			t.Errorf("%s: status %d, want one of %v", c.name, got, c.want)
		}
	}
	// Sign-up with a nested body, too.
	if got := rawPost(t, env.URL, "/api/v1/auth/register", "", strings.NewReader(strings.Repeat("[", 100000)), nil); got != 400 {
		t.Errorf("nested register body: %d", got)
	}
	w.check("after bad bodies")

	// A header block over the server's limit gets 431, not a crash.
	h := http.Header{"X-Pad": []string{strings.Repeat("p", 200<<10)}}
	if got := rawPost(t, env.URL, path, tok, strings.NewReader(`{}`), h); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %d", got)
	}

	// A deeply nested WebSocket frame is refused and the socket stays
	// usable or is closed with a documented code; either way others are served.
	ws := dialAuthed(t, env, tok)
	_ = ws.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	ws.send([]byte(`{"type":"send","ref":"x","body":` + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + `}`))
	if m, code := ws.next(); m != nil && m["type"] != "error" {
		t.Errorf("nested frame answered with %v", m)
	} else if m == nil && code != 1009 && code != 1007 && code != 1008 {
		t.Errorf("nested frame closed with %d", code)
	}
	w.check("after nested frame")
	w.final()
}

// TestAbuseSlowloris: hundreds of connections that dribble their headers
// or their bodies one byte at a time do not stop the server from serving
// the witness; the server closes the slow-header ones by itself.
func TestAbuseSlowloris(t *testing.T) {
	t.Parallel() // mostly waiting for the server's header timeout
	env := apitest.Start(t, nil)
	w := newWitness(t, env)
	host := strings.TrimPrefix(env.URL, "http://")
	const slowHeaders, slowBodies = 300, 100
	var conns []net.Conn
	for i := 0; i < slowHeaders+slowBodies; i++ {
		c, err := net.DialTimeout("tcp", host, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
		if i < slowHeaders {
			_, _ = c.Write([]byte("GET /api/v1/me HTTP/1.1\r\nHost: x\r\n"))
		} else {
			_, _ = c.Write([]byte("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"))
		}
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one more byte on every connection now and then
		defer wg.Done()
		for ctx.Err() == nil {
			for i, c := range conns {
				_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				if i < slowHeaders {
					_, _ = c.Write([]byte("X"))
				} else {
					_, _ = c.Write([]byte(" "))
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	for i := 0; i < 5; i++ {
		w.check(fmt.Sprintf("during slowloris %d", i))
		time.Sleep(200 * time.Millisecond)
	}
	// The slow-header connections are cut off by the server
	// (ReadHeaderTimeout) even though they keep sending.
	closed := 0
	deadline := time.Now().Add(40 * time.Second)
	for _, c := range conns[:slowHeaders] {
		if isClosedBy(c, deadline) {
			closed++
		}
	}
	cancel()
	wg.Wait()
	if closed != slowHeaders {
		t.Errorf("%d of %d slow-header connections closed by the server", closed, slowHeaders)
	}
	w.check("after slowloris")
	w.final()
}

// isClosedBy reads (discarding) until the peer closes or the deadline.
func isClosedBy(c net.Conn, deadline time.Time) bool {
	_ = c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestAbuseIdleUnauthenticatedSockets: a few thousand TCP connections that
// never send a byte and WebSockets that never authenticate leave the
// witness served; the server closes the unauthenticated WebSockets
// (AuthTimeout) and the silent TCP connections (ReadHeaderTimeout) by
// itself.
func TestAbuseIdleUnauthenticatedSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of sockets")
	}
	t.Parallel() // mostly waiting for the server's timeouts
	env := apitest.Start(t, nil)
	w := newWitness(t, env)
	host := strings.TrimPrefix(env.URL, "http://")
	const idleTCP, idleWS = 2000, 500
	var tcp, wss []net.Conn
	t.Cleanup(func() {
		for _, c := range append(tcp, wss...) {
			c.Close()
		}
	})
	for i := 0; i < idleTCP; i++ {
		c, err := net.DialTimeout("tcp", host, 10*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		tcp = append(tcp, c)
	}
	w.check("with idle TCP connections")
	u := strings.Replace(env.URL, "http://", "ws://", 1) + "/api/v1/ws"
	for i := 0; i < idleWS; i++ {
		c, br, _, err := ws.Dialer{Timeout: 10 * time.Second}.Dial(context.Background(), u)
		if err != nil {
			t.Fatalf("websocket %d: %v", i, err)
		}
		if br != nil {
			ws.PutReader(br)
		}
		wss = append(wss, c)
	}
	w.check("with idle unauthenticated websockets")
	// Sign-in attempts keep failing fast for strangers meanwhile, and a
	// flood of them does not stop the witness.
	for i := 0; i < 50; i++ {
		_, err := client.New(env.URL).Login(context.Background(), "witness_a", fmt.Sprintf("wrong %d", i))
		if err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	w.check("after a sign-in flood")

	deadline := time.Now().Add(40 * time.Second)
	for i, c := range wss {
		if !closedWithReader(c, deadline) {
			t.Fatalf("unauthenticated websocket %d still open", i)
		}
	}
	for i, c := range tcp {
		if !isClosedBy(c, deadline) {
			t.Fatalf("silent TCP connection %d still open", i)
		}
	}
	w.check("after the server shed them")
	w.final()
}

func closedWithReader(c net.Conn, deadline time.Time) bool {
	_ = c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, bufio.NewReader(c))
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
