package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// iceServers fetches the user's ICE servers through the SDK.
func iceServers(t *testing.T, c *client.Client) parley.ICEConfig {
	t.Helper()
	cfg, err := c.ICEServers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func callState(id string, state parley.CallState) func(client.Event) bool {
	return func(e client.Event) bool { return e.Call != nil && e.Call.ID == id && e.Call.State == state }
}

// relayPeer is a pion peer connection restricted to TURN relays, trickling
// its candidates over sig for call id.
func relayPeer(t *testing.T, cfg parley.ICEConfig, rt *client.Realtime, id *string, ready <-chan struct{}) *webrtc.PeerConnection {
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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := rt.SendICE(ctx, *id, parley.ICECandidate{Candidate: init.Candidate, SDPMid: init.SDPMid,
			SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment})
		if err != nil {
			t.Errorf("send candidate: %v", err)
		}
	})
	return pc
}

func addCandidate(t *testing.T, pc *webrtc.PeerConnection, c *parley.ICECandidate) {
	t.Helper()
	err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid,
		SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment})
	if err != nil {
		t.Fatalf("add candidate: %v", err)
	}
}

// trickle adds a peer's candidates to pc, holding those that arrive before
// pc's remote description: the peer trickles them as soon as it has set its
// local description, and its signalling frames race with them.
type trickle struct {
	pc   *webrtc.PeerConnection
	held []*parley.ICECandidate
}

func (tr *trickle) add(t *testing.T, c *parley.ICECandidate) {
	t.Helper()
	if tr.pc.RemoteDescription() == nil {
		tr.held = append(tr.held, c)
		return
	}
	addCandidate(t, tr.pc, c)
}

// described adds the held candidates once the remote description is set.
func (tr *trickle) described(t *testing.T) {
	t.Helper()
	for _, c := range tr.held {
		addCandidate(t, tr.pc, c)
	}
	tr.held = nil
}

// Two pion peers set up a call through Parley's signalling and exchange
// data through the embedded TURN server only (ICETransportPolicy relay),
// each with the short-lived credentials the API handed it.
func TestCallWebRTCThroughTURN(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.TURN = "127.0.0.1:0" })
	ac, au := env.NewUser(t, "alice")
	bc, bu := env.NewUser(t, "bob")
	conv := directConv(t, ac, bu.ID)
	acfg, bcfg := iceServers(t, ac), iceServers(t, bc)
	if len(acfg.ICEServers) != 2 || acfg.ExpiresAt == nil || acfg.ICEServers[1].Username == bcfg.ICEServers[1].Username ||
		!strings.HasSuffix(acfg.ICEServers[1].Username, ":"+au.ID) {
		t.Fatalf("ice servers: %+v / %+v", acfg, bcfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	alice, bob := connect(t, ac), connect(t, bc)
	var id string
	known := make(chan struct{})
	apc := relayPeer(t, acfg, alice, &id, known)
	bpc := relayPeer(t, bcfg, bob, &id, known)

	call, err := alice.RingCall(ctx, conv.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	id = call.ID
	close(known)
	waitEvent(t, bob, "ringing", callState(id, parley.CallRinging))
	if _, err := bob.CallAction(ctx, id, parley.CallAccept); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, alice, "answered", callState(id, parley.CallActive))

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
	if err := alice.SendSDP(ctx, id, parley.SDPOffer, offer.SDP); err != nil {
		t.Fatal(err)
	}

	// Both sides now trickle candidates; bob answers the offer.
	atr, btr := &trickle{pc: apc}, &trickle{pc: bpc}
	deadline := time.After(30 * time.Second)
	answered := false
	for {
		select {
		case e := <-bob.Events():
			switch {
			case e.Signal != nil && e.Signal.SDPType == parley.SDPOffer:
				if err := bpc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: e.Signal.SDP}); err != nil {
					t.Fatal(err)
				}
				btr.described(t)
				ans, err := bpc.CreateAnswer(nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := bpc.SetLocalDescription(ans); err != nil {
					t.Fatal(err)
				}
				if err := bob.SendSDP(ctx, id, parley.SDPAnswer, ans.SDP); err != nil {
					t.Fatal(err)
				}
			case e.Signal != nil && e.Signal.Candidate != nil:
				btr.add(t, e.Signal.Candidate)
			}
		case e := <-alice.Events():
			switch {
			case e.Signal != nil && e.Signal.SDPType == parley.SDPAnswer:
				if e.Signal.From != bu.ID || e.Signal.CallID != id {
					t.Fatalf("answer from %q for %q", e.Signal.From, e.Signal.CallID)
				}
				if err := apc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: e.Signal.SDP}); err != nil {
					t.Fatal(err)
				}
				atr.described(t)
				answered = true
			case e.Signal != nil && e.Signal.Candidate != nil:
				atr.add(t, e.Signal.Candidate)
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
			ended, err := alice.CallAction(ctx, id, parley.CallHangup)
			if err != nil || ended.End != parley.CallCompleted {
				t.Fatalf("hangup: %+v %v", ended, err)
			}
			waitEvent(t, bob, "ended", callState(id, parley.CallEnded))
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
	cfg := iceServers(t, c)
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
	if cfg := iceServers(t, bc); len(cfg.ICEServers) != 0 || cfg.ExpiresAt != nil {
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
