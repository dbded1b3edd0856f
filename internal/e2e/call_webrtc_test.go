package e2e_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/pion/webrtc/v4"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// sigConn is a goroutine-safe signalling connection for a WebRTC peer:
// frames arrive on in (until the socket ends), writes take a lock.
type sigConn struct {
	mu   sync.Mutex
	conn net.Conn
	in   chan map[string]any
}

func dialSig(t *testing.T, env *apitest.Env, token string) *sigConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(ctx, strings.Replace(env.URL, "http://", "ws://", 1)+"/api/v1/ws")
	if err != nil {
		t.Fatal(err)
	}
	if br != nil {
		ws.PutReader(br)
	}
	s := &sigConn{conn: conn, in: make(chan map[string]any, 256)}
	t.Cleanup(func() { _ = conn.Close() })
	go func() {
		defer close(s.in)
		for {
			p, err := wsutil.ReadServerText(conn)
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(p, &m) == nil {
				s.in <- m
			}
		}
	}()
	s.send(map[string]any{"type": "auth", "token": token})
	s.wait(t, func(m map[string]any) bool { return m["type"] == "ready" })
	return s
}

func (s *sigConn) send(v any) {
	b, _ := json.Marshal(v)
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = wsutil.WriteClientText(s.conn, b)
}

// wait returns the first frame matching want, failing on an error frame,
// the socket's end or a 20 s timeout; it drops the frames before it.
func (s *sigConn) wait(t *testing.T, want func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-s.in:
			if !ok {
				t.Fatal("signalling socket closed")
			}
			if m["type"] == "error" {
				t.Fatalf("error frame %v", m)
			}
			if want(m) {
				return m
			}
		case <-timeout:
			t.Fatal("timed out waiting for a signalling frame")
		}
	}
}

// iceServers fetches the caller's ICE servers from the API.
func iceServers(t *testing.T, env *apitest.Env, token string) parley.ICEConfig {
	t.Helper()
	req, _ := http.NewRequest("GET", env.URL+"/api/v1/calls/ice-servers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var cfg parley.ICEConfig
	if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil || res.StatusCode != 200 {
		t.Fatalf("ice-servers: %d %v", res.StatusCode, err)
	}
	return cfg
}

// relayPeer is a pion peer connection restricted to TURN relays, trickling
// its candidates over sig for call id.
func relayPeer(t *testing.T, cfg parley.ICEConfig, sig *sigConn, id *string, ready <-chan struct{}) *webrtc.PeerConnection {
	t.Helper()
	var servers []webrtc.ICEServer
	for _, s := range cfg.ICEServers {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{ICEServers: servers, ICETransportPolicy: webrtc.ICETransportPolicyRelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		<-ready // the call id is known
		init := c.ToJSON()
		sig.send(map[string]any{"type": "call_ice", "call_id": *id, "candidate": init})
	})
	return pc
}

func addCandidate(t *testing.T, pc *webrtc.PeerConnection, m map[string]any) {
	t.Helper()
	b, _ := json.Marshal(m["candidate"])
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if err := pc.AddICECandidate(c); err != nil {
		t.Fatalf("add candidate: %v", err)
	}
}

// Two pion peers set up a call through Parley's signalling and exchange
// data through the embedded TURN server only (ICETransportPolicy relay),
// each with the short-lived credentials the API handed it.
func TestCallWebRTCThroughTURN(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.TURN = "127.0.0.1:0" })
	ac, au := env.NewUser(t, "alice")
	bc, bu := env.NewUser(t, "bob")
	conv := directConv(t, ac, bu.ID)
	acfg, bcfg := iceServers(t, env, ac.Token()), iceServers(t, env, bc.Token())
	if len(acfg.ICEServers) != 2 || acfg.ExpiresAt == nil || acfg.ICEServers[1].Username == bcfg.ICEServers[1].Username ||
		!strings.HasSuffix(acfg.ICEServers[1].Username, ":"+au.ID) {
		t.Fatalf("ice servers: %+v / %+v", acfg, bcfg)
	}

	alice, bob := dialSig(t, env, ac.Token()), dialSig(t, env, bc.Token())
	var id string
	known := make(chan struct{})
	apc := relayPeer(t, acfg, alice, &id, known)
	bpc := relayPeer(t, bcfg, bob, &id, known)

	alice.send(map[string]any{"type": "call_ring", "conversation_id": conv.ID, "ref": "ring"})
	ring := alice.wait(t, func(m map[string]any) bool { return m["ref"] == "ring" })
	id, _ = callOf(ring)["id"].(string)
	close(known)
	bob.wait(t, func(m map[string]any) bool { return m["type"] == "call" && callOf(m)["state"] == "ringing" })
	bob.send(map[string]any{"type": "call_accept", "call_id": id})
	alice.wait(t, func(m map[string]any) bool { return m["type"] == "call" && callOf(m)["state"] == "active" })

	got := make(chan string, 1)
	bpc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			select {
			case got <- string(msg.Data):
			default:
			}
		})
	})
	dc, err := apc.CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	offer, err := apc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := apc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	alice.send(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": offer.SDP})

	// Both sides now trickle candidates; bob answers the offer.
	deadline := time.After(30 * time.Second)
	answered := false
	for {
		select {
		case m, ok := <-bob.in:
			if !ok {
				t.Fatal("bob's socket closed")
			}
			switch m["type"] {
			case "call_sdp":
				if err := bpc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m["sdp"].(string)}); err != nil {
					t.Fatal(err)
				}
				ans, err := bpc.CreateAnswer(nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := bpc.SetLocalDescription(ans); err != nil {
					t.Fatal(err)
				}
				bob.send(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "answer", "sdp": ans.SDP})
			case "call_ice":
				addCandidate(t, bpc, m)
			case "error":
				t.Fatalf("bob: %v", m)
			}
		case m, ok := <-alice.in:
			if !ok {
				t.Fatal("alice's socket closed")
			}
			switch m["type"] {
			case "call_sdp":
				if err := apc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m["sdp"].(string)}); err != nil {
					t.Fatal(err)
				}
				answered = true
			case "call_ice":
				addCandidate(t, apc, m)
			case "error":
				t.Fatalf("alice: %v", m)
			}
		case <-opened:
			opened = nil
			if err := dc.SendText("hello over TURN"); err != nil {
				t.Fatal(err)
			}
		case msg := <-got:
			if msg != "hello over TURN" || !answered {
				t.Fatalf("bob got %q (answered %v)", msg, answered)
			}
			pair, err := apc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay {
				t.Fatalf("selected pair %v %v: not relay to relay", pair, err)
			}
			if n := env.Server.TURN.Allocations(); n < 2 {
				t.Fatalf("TURN holds %d allocations", n)
			}
			alice.send(map[string]any{"type": "call_hangup", "call_id": id})
			bob.wait(t, func(m map[string]any) bool { return m["type"] == "call" && callOf(m)["end"] == "completed" })
			return
		case <-deadline:
			t.Fatalf("no data through TURN: alice %s, bob %s", apc.ICEConnectionState(), bpc.ICEConnectionState())
		}
	}
}

// The ICE servers endpoint: the embedded TURN server's URLs with working
// credentials, the external ones configured, nothing without either.
func TestCallICEServersEndpoint(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) {
		c.ICEURLs = []string{"stun:stun.example.org:3478", "turns:turn.example.org:5349"}
		c.TURNSecret = "shared with coturn"
	})
	c, u := env.NewUser(t, "alice")
	cfg := iceServers(t, env, c.Token())
	if len(cfg.ICEServers) != 2 || cfg.ICEServers[1].URLs[0] != "turns:turn.example.org:5349" {
		t.Fatalf("%+v", cfg)
	}
	pass, user, ok := parley.CheckTURNUsername("shared with coturn", cfg.ICEServers[1].Username, time.Now())
	if !ok || user != u.ID || pass != cfg.ICEServers[1].Credential {
		t.Fatalf("credentials do not verify with the shared secret: %+v", cfg.ICEServers[1])
	}
	res, err := http.Get(env.URL + "/api/v1/calls/ice-servers")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", res.StatusCode)
	}
	bare := apitest.Start(t, nil)
	bc, _ := bare.NewUser(t, "bob")
	if cfg := iceServers(t, bare, bc.Token()); len(cfg.ICEServers) != 0 || cfg.ExpiresAt != nil {
		t.Fatalf("nothing configured: %+v", cfg)
	}
	// Bad settings are refused at start.
	for _, bad := range []func(*server.Config){
		func(c *server.Config) { c.ICEURLs = []string{"http://x"} },
		func(c *server.Config) { c.ICEURLs = []string{"turn:x:3478"} }, // no secret
		func(c *server.Config) { c.TURN = ":0" },                       // no public IP
		func(c *server.Config) { c.TURN = "127.0.0.1:0"; c.TURNPublicIP = "nope" },
		func(c *server.Config) { c.TURNTTL = time.Second },
	} {
		cfg := server.Default()
		bad(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
