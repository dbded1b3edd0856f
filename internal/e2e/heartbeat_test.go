package e2e_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/gateway"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/presence"
)

// TestRealtimeHeartbeatPongKeepsAlive is the other half of
// TestRealtimeHeartbeatTimeout: a peer that sends no frames of its own but
// answers every server ping with a pong control frame — what browsers do by
// themselves — stays connected however many ping intervals pass.
func TestRealtimeHeartbeatPongKeepsAlive(t *testing.T) {
	env := apitest.Start(t, nil)
	c, _ := env.NewUser(t, "quiet")
	for _, noPoller := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoPoller=%v", noPoller), func(t *testing.T) {
			g := gateway.New(app.NewRealtime(env.Server.App, presence.NewLocal()), nil, nil,
				gateway.Config{PingInterval: 250 * time.Millisecond, NoPoller: noPoller})
			defer g.Close()
			h := httpapi.New(env.Server.App, nil, nil, httpapi.Options{})
			h.MountGateway(g)
			srv := httptest.NewServer(h)
			defer srv.Close()
			w := dialRaw(t, &apitest.Env{URL: srv.URL}, nil)
			w.send(map[string]any{"type": "auth", "token": c.Token()})
			w.expect("ready")
			// Answer 8 pings (four times the two-interval timeout) with pongs
			// only. The interval leaves a loaded -race run room to answer.
			_ = w.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			for pings := 0; pings < 8; {
				hdr, err := ws.ReadHeader(w.r)
				if err != nil {
					t.Fatalf("read after %d pings: %v", pings, err)
				}
				p := make([]byte, hdr.Length)
				if _, err := io.ReadFull(w.r, p); err != nil {
					t.Fatalf("read: %v", err)
				}
				switch hdr.OpCode {
				case ws.OpClose:
					code, reason := ws.ParseCloseFrameData(p)
					t.Fatalf("closed with %d %q after %d answered pings", code, reason, pings)
				case ws.OpPing:
					pings++
					if err := wsutil.WriteClientMessage(w.conn, ws.OpPong, p); err != nil {
						t.Fatalf("pong: %v", err)
					}
				}
			}
			w.send(map[string]any{"type": "ping", "ref": "still-here"})
			if m := w.expect("pong"); m["ref"] != "still-here" {
				t.Fatalf("pong %v", m)
			}
		})
	}
}
