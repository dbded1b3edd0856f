package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/gateway"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/presence"
	"github.com/parley-chat/parley/internal/server"
)

// rawWS is a hand-driven WebSocket client for testing the server's handling
// of bad input.
type rawWS struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
}

func dialRaw(t *testing.T, env *apitest.Env, header http.Header) *rawWS {
	t.Helper()
	u := strings.Replace(env.URL, "http://", "ws://", 1) + "/api/v1/ws"
	d := ws.Dialer{Timeout: 5 * time.Second}
	if header != nil {
		d.Header = ws.HandshakeHeaderHTTP(header)
	}
	conn, br, _, err := d.Dial(context.Background(), u)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &rawWS{t: t, conn: conn, r: bufio.NewReader(r)}
}

// dialAuthed is dialRaw, signed in with token, past the ready frame.
func dialAuthed(t *testing.T, env *apitest.Env, token string) *rawWS {
	t.Helper()
	w := dialRaw(t, env, nil)
	w.send(map[string]any{"type": "auth", "token": token})
	w.expect("ready")
	return w
}

func (w *rawWS) send(v any) {
	w.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	if err := wsutil.WriteClientText(w.conn, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// next returns the next data frame's JSON, or the close code (then frame is nil).
func (w *rawWS) next() (map[string]any, int) {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		h, err := ws.ReadHeader(w.r)
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(w.r, p); err != nil {
			w.t.Fatalf("read: %v", err)
		}
		switch h.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(p)
			return nil, int(code)
		case ws.OpText:
			var m map[string]any
			if err := json.Unmarshal(p, &m); err != nil {
				w.t.Fatalf("server sent invalid JSON %q", p)
			}
			return m, 0
		}
	}
}

// expect reads frames until one of type typ arrives, failing on a close.
func (w *rawWS) expect(typ string) map[string]any {
	w.t.Helper()
	for {
		m, code := w.next()
		if m == nil {
			w.t.Fatalf("closed with %d while waiting for %q", code, typ)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// expectClose reads until the close frame and checks its code.
func (w *rawWS) expectClose(code int) {
	w.t.Helper()
	for {
		m, c := w.next()
		if m == nil {
			if c != code {
				w.t.Fatalf("close code %d, want %d", c, code)
			}
			return
		}
	}
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestRealtimeAuth(t *testing.T) {
	env := apitest.Start(t, nil)
	c, u := env.NewUser(t, "alice")

	t.Run("ready", func(t *testing.T) {
		w := dialRaw(t, env, nil)
		w.send(map[string]any{"type": "auth", "token": c.Token(), "ref": "a1"})
		m := w.expect("ready")
		if m["ref"] != "a1" {
			t.Errorf("ref = %v", m["ref"])
		}
		user, _ := m["user"].(map[string]any)
		if user["id"] != u.ID || m["session_id"] == "" || m["server_time"] == nil || m["limits"] == nil {
			t.Errorf("ready frame = %v", m)
		}
		w.send(map[string]any{"type": "ping", "ref": "p"})
		if p := w.expect("pong"); p["ref"] != "p" {
			t.Errorf("pong = %v", p)
		}
		w.send(map[string]any{"type": "auth", "token": c.Token(), "ref": "again"})
		if e := w.expect("error"); errCode(e) != "invalid" || e["ref"] != "again" {
			t.Errorf("second auth answered %v", e)
		}
	})
	cases := []struct {
		name  string
		frame any
		code  string
	}{
		{"bad token", map[string]any{"type": "auth", "token": "nope"}, "unauthenticated"},
		{"empty token", map[string]any{"type": "auth"}, "invalid"},
		{"not auth first", map[string]any{"type": "ping"}, "unauthenticated"},
		{"not json", []byte("hello"), "invalid"},
		{"token wrong type", []byte(`{"type":"auth","token":5}`), "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := dialRaw(t, env, nil)
			w.send(tc.frame)
			e := w.expect("error")
			if errCode(e) != tc.code {
				t.Errorf("error = %v, want code %s", e, tc.code)
			}
			w.expectClose(4401)
		})
	}
}

func TestRealtimeBadFrames(t *testing.T) {
	env := apitest.Start(t, nil)
	c, _ := env.NewUser(t, "bob")
	authed := func(t *testing.T) *rawWS {
		w := dialAuthed(t, env, c.Token())
		return w
	}
	t.Run("unknown type", func(t *testing.T) {
		w := authed(t)
		w.send(map[string]any{"type": "dance", "ref": "x"})
		if e := w.expect("error"); errCode(e) != "invalid" || e["ref"] != "x" {
			t.Errorf("got %v", e)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		w := authed(t)
		w.send([]byte(`{"type":"ping","ref":"y","bogus":1}`))
		e := w.expect("error")
		if errCode(e) != "invalid" || e["ref"] != "y" || e["error"].(map[string]any)["field"] != "bogus" {
			t.Errorf("got %v", e)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		w := authed(t)
		w.send([]byte(`{"type":"read","conversation_id":"x","seq":"high"}`))
		if e := w.expect("error"); errCode(e) != "invalid" {
			t.Errorf("got %v", e)
		}
	})
	t.Run("long ref", func(t *testing.T) {
		w := authed(t)
		w.send(map[string]any{"type": "ping", "ref": strings.Repeat("r", 100)})
		if e := w.expect("error"); errCode(e) != "too_large" {
			t.Errorf("got %v", e)
		}
	})
	t.Run("bad conversation id", func(t *testing.T) {
		w := authed(t)
		w.send(map[string]any{"type": "read", "conversation_id": "../etc", "seq": 1, "ref": "r"})
		if e := w.expect("error"); errCode(e) != "invalid" {
			t.Errorf("got %v", e)
		}
		w.send(map[string]any{"type": "typing", "conversation_id": parley.NewID(), "ref": "t"})
		if e := w.expect("error"); errCode(e) != "not_found" {
			t.Errorf("typing in someone else's conversation: %v", e)
		}
	})
	t.Run("invalid utf8", func(t *testing.T) {
		w := authed(t)
		w.send([]byte("{\"type\":\"ping\",\"ref\":\"\xff\xfe\"}"))
		w.expectClose(1007)
	})
	t.Run("binary", func(t *testing.T) {
		w := authed(t)
		_ = wsutil.WriteClientBinary(w.conn, []byte{1, 2, 3})
		w.expectClose(1003)
	})
	t.Run("too large", func(t *testing.T) {
		w := authed(t)
		w.send([]byte(`{"type":"ping","ref":"` + strings.Repeat("a", 330<<10) + `"}`))
		w.expectClose(1009)
	})
	t.Run("flood", func(t *testing.T) {
		w := authed(t)
		for i := 0; i < 400; i++ {
			if err := wsutil.WriteClientText(w.conn, []byte(`{"type":"ping"}`)); err != nil {
				break // the server may already have closed
			}
		}
		limited := false
		for {
			m, code := w.next()
			if m == nil {
				if code != 1008 {
					t.Fatalf("close code %d, want 1008", code)
				}
				break
			}
			if errCode(m) == "rate_limited" {
				limited = true
			}
		}
		if !limited {
			t.Error("no rate_limited error frame before the close")
		}
	})
}

func TestRealtimeOrigin(t *testing.T) {
	env := apitest.Start(t, func(cfg *server.Config) { cfg.AllowedOrigins = []string{"https://chat.example"} })
	u := strings.Replace(env.URL, "http://", "ws://", 1) + "/api/v1/ws"
	for origin, ok := range map[string]bool{"https://chat.example": true, "https://evil.example": false, "": true, env.URL: true} {
		d := ws.Dialer{Timeout: 5 * time.Second}
		if origin != "" {
			d.Header = ws.HandshakeHeaderHTTP(http.Header{"Origin": {origin}})
		}
		status := 0
		d.OnStatusError = func(st int, _ []byte, _ io.Reader) { status = st }
		conn, _, _, err := d.Dial(context.Background(), u)
		if ok != (err == nil) {
			t.Errorf("origin %q: err = %v", origin, err)
		}
		if !ok && status != http.StatusForbidden {
			t.Errorf("origin %q: status %d, want 403", origin, status)
		}
		if conn != nil {
			conn.Close()
		}
	}

	// Default: same host only.
	env2 := apitest.Start(t, nil)
	u2 := strings.Replace(env2.URL, "http://", "ws://", 1) + "/api/v1/ws"
	d := ws.Dialer{Timeout: 5 * time.Second, Header: ws.HandshakeHeaderHTTP(http.Header{"Origin": {"https://evil.example"}})}
	if conn, _, _, err := d.Dial(context.Background(), u2); err == nil {
		conn.Close()
		t.Error("cross-site origin accepted by default")
	}
	d.Header = ws.HandshakeHeaderHTTP(http.Header{"Origin": {env2.URL}})
	conn, _, _, err := d.Dial(context.Background(), u2)
	if err != nil {
		t.Errorf("same-host origin refused: %v", err)
	} else {
		conn.Close()
	}
}

func TestRealtimeSessionRevoked(t *testing.T) {
	env := apitest.Start(t, nil)
	c, _ := env.NewUser(t, "carol")
	w := dialAuthed(t, env, c.Token())
	if err := c.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := w.expect("session_revoked"); m["reason"] != "logout" {
		t.Errorf("got %v", m)
	}
	w.expectClose(4401)
}

func TestRealtimeDisabledAccount(t *testing.T) {
	env := apitest.Start(t, nil)
	admin, _ := env.NewAdmin(t, "root")
	c, u := env.NewUser(t, "dave")
	rt, err := c.Connect(context.Background(), client.RealtimeOptions{MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if ev := <-rt.Events(); ev.Type != "connected" {
		t.Fatalf("first event %q", ev.Type)
	}
	if _, err := admin.DisableUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	for ev := range rt.Events() {
		if ev.Type == "disconnected" && parley.IsCode(ev.Err, parley.CodeUnauthenticated) {
			return // closed, and reconnecting is refused: the stream ends
		}
	}
	t.Fatal("event stream ended without an unauthenticated disconnect")
}

func TestAsyncAPIDocument(t *testing.T) {
	env := apitest.Start(t, nil)
	resp, err := env.HTTPClient().Get(env.URL + "/api/v1/asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		AsyncAPI   string                    `json:"asyncapi"`
		Operations map[string]map[string]any `json:"operations"`
		Components struct {
			Messages map[string]struct {
				Payload struct {
					Properties map[string]any `json:"properties"`
				} `json:"payload"`
			} `json:"messages"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsyncAPI != "3.0.0" || len(doc.Operations) != 2 {
		t.Fatalf("document: %+v", doc)
	}
	// Every client frame type the gateway accepts is documented.
	for _, typ := range []string{"auth", "send", "read", "delivered", "typing", "presence_subscribe", "presence_unsubscribe", "sync", "ping", "history",
		"call_ring", "call_accept", "call_decline", "call_busy", "call_cancel", "call_hangup", "call_sdp", "call_ice"} {
		if _, ok := doc.Components.Messages["client_"+typ]; !ok {
			t.Errorf("client frame %q not documented", typ)
		}
	}
	// Catching up in the handshake: auth's since and ready's messages.
	if doc.Components.Messages["client_auth"].Payload.Properties["since"] == nil ||
		doc.Components.Messages["server_ready"].Payload.Properties["messages"] == nil {
		t.Error("auth's since or ready's messages not documented")
	}
}

// TestRealtimeHeartbeatTimeout runs a gateway with a short ping interval on
// the real app: a peer that answers nothing (no pong) is closed with 4000,
// whether idle connections are parked in epoll or keep a blocked reader.
func TestRealtimeHeartbeatTimeout(t *testing.T) {
	env := apitest.Start(t, nil)
	c, _ := env.NewUser(t, "sleepy")
	for _, noPoller := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoPoller=%v", noPoller), func(t *testing.T) {
			g := gateway.New(app.NewRealtime(env.Server.App, presence.NewLocal()), nil, nil,
				gateway.Config{PingInterval: 50 * time.Millisecond, NoPoller: noPoller})
			defer g.Close()
			h := httpapi.New(env.Server.App, nil, nil, httpapi.Options{})
			h.MountGateway(g)
			srv := httptest.NewServer(h)
			defer srv.Close()
			w := dialRaw(t, &apitest.Env{URL: srv.URL}, nil)
			w.send(map[string]any{"type": "auth", "token": c.Token()})
			w.expect("ready")
			w.send(map[string]any{"type": "ping", "ref": "alive"})
			w.expect("pong")
			w.expectClose(4000) // next() skips the server's pings without answering
			w.conn.Close()
		})
	}
}
