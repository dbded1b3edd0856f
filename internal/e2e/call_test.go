package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/bus/nats/natstest"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/server"
)

// Calls over the WebSocket API (docs/calls.md): the signalling of a 1:1
// call between the devices in it, its refusals, and its record in history.

const offerSDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

// callPeer is one signed-in device on a raw WebSocket.
type callPeer struct {
	*rawWS
	id  string // user id
	n   int
	cli *client.Client
}

func newCallPeer(t *testing.T, env *apitest.Env, c *client.Client, u parley.User) *callPeer {
	return &callPeer{rawWS: dialAuthed(t, env, c.Token()), id: u.ID, cli: c}
}

// do sends frame with a fresh ref and returns the answer to it (its own
// type, "ok" or "error"), skipping events.
func (p *callPeer) do(frame map[string]any) map[string]any {
	p.t.Helper()
	p.n++
	ref := fmt.Sprint("r", p.n)
	frame["ref"] = ref
	p.send(frame)
	for {
		m, code := p.next()
		if m == nil {
			p.t.Fatalf("closed with %d waiting for the answer to %v", code, frame["type"])
		}
		if m["ref"] == ref {
			return m
		}
	}
}

// ok does frame and fails unless the answer is not an error.
func (p *callPeer) ok(frame map[string]any) map[string]any {
	p.t.Helper()
	m := p.do(frame)
	if m["type"] == "error" {
		p.t.Fatalf("%v answered %v", frame["type"], m["error"])
	}
	return m
}

// refused does frame and checks the error code (and field, if given).
func (p *callPeer) refused(frame map[string]any, code, field string) {
	p.t.Helper()
	m := p.do(frame)
	e, _ := m["error"].(map[string]any)
	if m["type"] != "error" || e["code"] != code || (field != "" && e["field"] != field) {
		p.t.Fatalf("%v answered %v, want error %s (field %q)", frame["type"], m, code, field)
	}
}

// event waits for a frame of type typ (with no ref) matching want.
func (p *callPeer) event(typ string, want func(m map[string]any) bool) map[string]any {
	p.t.Helper()
	for {
		m := p.expect(typ)
		if m["ref"] == nil && (want == nil || want(m)) {
			return m
		}
	}
}

// callEvent waits for the call event of call id in state (and end).
func (p *callPeer) callEvent(id, state, end string) map[string]any {
	p.t.Helper()
	return p.event("call", func(m map[string]any) bool {
		c, _ := m["call"].(map[string]any)
		return c["id"] == id && c["state"] == state && (end == "" || c["end"] == end)
	})
}

// noSignal sends a ping and fails if a call_sdp or call_ice frame arrives
// before its pong.
func (p *callPeer) noSignal() {
	p.t.Helper()
	p.n++
	ref := fmt.Sprint("q", p.n)
	p.send(map[string]any{"type": "ping", "ref": ref})
	for {
		m, code := p.next()
		if m == nil {
			p.t.Fatalf("closed with %d", code)
		}
		if m["type"] == "call_sdp" || m["type"] == "call_ice" {
			p.t.Fatalf("device outside the call got %v", m)
		}
		if m["ref"] == ref {
			return
		}
	}
}

func callOf(m map[string]any) map[string]any {
	c, _ := m["call"].(map[string]any)
	return c
}

// callRecord waits for the message event carrying the record of call id.
func (p *callPeer) callRecord(id string) map[string]any {
	p.t.Helper()
	m := p.event("message", func(m map[string]any) bool {
		msg, _ := m["message"].(map[string]any)
		sys, _ := msg["system"].(map[string]any)
		c, _ := sys["call"].(map[string]any)
		return sys["action"] == "call" && c["call_id"] == id
	})
	msg := m["message"].(map[string]any)
	return msg["system"].(map[string]any)["call"].(map[string]any)
}

func directConv(t *testing.T, c *client.Client, other string) parley.Conversation {
	t.Helper()
	conv, _, err := c.CreateConversation(context.Background(), client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{other}})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func TestCallSignalling(t *testing.T) {
	env := apitest.Start(t, nil)
	ac, au := env.NewUser(t, "alice")
	bc, bu := env.NewUser(t, "bob")
	cc, cu := env.NewUser(t, "carol")
	dc, du := env.NewUser(t, "dave")
	ab := directConv(t, ac, bu.ID)
	db := directConv(t, dc, bu.ID)
	ca := directConv(t, cc, au.ID)
	group, _, err := ac.CreateConversation(context.Background(), client.CreateConversationRequest{Kind: parley.KindGroup,
		Title: "g", MemberIDs: []string{bu.ID, cu.ID}})
	if err != nil {
		t.Fatal(err)
	}

	alice := newCallPeer(t, env, ac, au)
	bob1 := newCallPeer(t, env, bc, bu)
	b2 := env.Client() // bob's second device: a session of its own
	if _, err := b2.Login(context.Background(), "bob", apitest.Password); err != nil {
		t.Fatal(err)
	}
	bob2 := newCallPeer(t, env, b2, bu)
	carol := newCallPeer(t, env, cc, cu)
	dave := newCallPeer(t, env, dc, du)

	// Refusals before any call.
	carol.refused(map[string]any{"type": "call_ring", "conversation_id": ab.ID}, "not_found", "")
	alice.refused(map[string]any{"type": "call_ring", "conversation_id": group.ID}, "invalid", "conversation_id")
	alice.refused(map[string]any{"type": "call_ring", "conversation_id": "nope"}, "invalid", "conversation_id")
	alice.refused(map[string]any{"type": "call_ring"}, "invalid", "conversation_id")
	alice.refused(map[string]any{"type": "call_ring", "conversation_id": ab.ID, "video": "yes"}, "invalid", "video")
	alice.refused(map[string]any{"type": "call_accept", "call_id": parley.NewID()}, "not_found", "")
	alice.refused(map[string]any{"type": "call_accept", "call_id": "x"}, "invalid", "call_id")
	alice.refused(map[string]any{"type": "call_hangup"}, "invalid", "call_id")

	// Ring: the answer and both of bob's devices see it ringing.
	ring := alice.ok(map[string]any{"type": "call_ring", "conversation_id": ab.ID, "video": true})
	call := callOf(ring)
	id, _ := call["id"].(string)
	if ring["type"] != "call" || call["state"] != "ringing" || call["caller_id"] != au.ID || call["callee_id"] != bu.ID ||
		call["video"] != true || call["conversation_id"] != ab.ID {
		t.Fatalf("ring answered %v", ring)
	}
	if _, leaked := call["caller_session"]; leaked {
		t.Fatal("call carries a session id")
	}
	bob1.callEvent(id, "ringing", "")
	bob2.callEvent(id, "ringing", "")

	// Nobody else may act on it; the caller may not answer it; nothing is
	// relayed before an answer; a busy callee cannot be called.
	carol.refused(map[string]any{"type": "call_accept", "call_id": id}, "not_found", "")
	carol.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": offerSDP}, "not_found", "")
	alice.refused(map[string]any{"type": "call_accept", "call_id": id}, "forbidden", "")
	bob1.refused(map[string]any{"type": "call_cancel", "call_id": id}, "forbidden", "")
	alice.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": offerSDP}, "conflict", "")
	dave.refused(map[string]any{"type": "call_ring", "conversation_id": db.ID}, "conflict", "callee_id")
	carol.refused(map[string]any{"type": "call_ring", "conversation_id": ca.ID}, "conflict", "callee_id")
	alice.refused(map[string]any{"type": "call_ring", "conversation_id": ca.ID}, "conflict", "caller_id")

	// bob answers on device 1; device 2 learns it and may not answer too.
	acc := bob1.ok(map[string]any{"type": "call_accept", "call_id": id})
	if callOf(acc)["state"] != "active" || callOf(acc)["answered_at"] == nil {
		t.Fatalf("accept answered %v", acc)
	}
	bob2.callEvent(id, "active", "")
	alice.callEvent(id, "active", "")
	bob2.refused(map[string]any{"type": "call_accept", "call_id": id}, "conflict", "")
	bob2.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "answer", "sdp": offerSDP}, "conflict", "")

	// Offer, answer and candidates reach the peer's device in the call only.
	alice.ok(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": offerSDP})
	if m := bob1.event("call_sdp", nil); m["call_id"] != id || m["from"] != au.ID || m["sdp_type"] != "offer" || m["sdp"] != offerSDP {
		t.Fatalf("bob got %v", m)
	}
	bob2.noSignal()
	carol.noSignal()
	bob1.ok(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "answer", "sdp": offerSDP})
	if m := alice.event("call_sdp", nil); m["sdp_type"] != "answer" || m["from"] != bu.ID {
		t.Fatalf("alice got %v", m)
	}
	cand := "candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host"
	alice.ok(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": cand, "sdpMid": "0", "sdpMLineIndex": 0}})
	m := bob1.event("call_ice", nil)
	if c, _ := m["candidate"].(map[string]any); c["candidate"] != cand || c["sdpMid"] != "0" || m["from"] != au.ID {
		t.Fatalf("bob got %v", m)
	}
	bob2.noSignal()

	// Bad signalling input.
	big := "v=" + strings.Repeat("a", parley.MaxSDPBytes)
	alice.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": big}, "too_large", "sdp")
	alice.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "rollback", "sdp": offerSDP}, "invalid", "sdp_type")
	alice.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": "hello"}, "invalid", "sdp")
	alice.refused(map[string]any{"type": "call_ice", "call_id": id}, "invalid", "candidate")
	alice.refused(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": "x"}}, "invalid", "candidate")
	alice.refused(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": cand, "bogus": 1}}, "invalid", "bogus")
	alice.refused(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": cand + strings.Repeat(" x", parley.MaxCandidateBytes)}}, "too_large", "candidate")
	alice.refused(map[string]any{"type": "call_ice", "call_id": parley.NewID(), "candidate": map[string]any{"candidate": cand}}, "not_found", "")

	// A flood of candidates: MaxCandidates per participant and call.
	for i := 1; i < parley.MaxCandidates; i++ {
		alice.ok(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": cand}})
	}
	alice.refused(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": cand}}, "rate_limited", "candidate")

	// Hang-up ends it for everyone and records it in history with its duration.
	end := bob1.ok(map[string]any{"type": "call_hangup", "call_id": id})
	if c := callOf(end); c["state"] != "ended" || c["end"] != "completed" || c["ended_by"] != bu.ID {
		t.Fatalf("hangup answered %v", end)
	}
	alice.callEvent(id, "ended", "completed")
	bob2.callEvent(id, "ended", "completed")
	rec := alice.callRecord(id)
	if rec["outcome"] != "completed" || rec["caller_id"] != au.ID || rec["video"] != true {
		t.Fatalf("record %v", rec)
	}
	if _, ok := rec["duration_ms"].(float64); !ok {
		t.Fatalf("record without duration %v", rec)
	}
	alice.refused(map[string]any{"type": "call_hangup", "call_id": id}, "conflict", "")
	alice.refused(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": offerSDP}, "conflict", "")
	hist, err := ac.History(context.Background(), ab.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range hist {
		if m.System != nil && m.System.Action == parley.SystemCall && m.System.Call.CallID == id {
			found = m.System.Call.Outcome == parley.CallCompleted && m.Kind == parley.MessageSystem
		}
	}
	if !found {
		t.Fatalf("no call record in history %+v", hist)
	}

	// Now free again: dave's call to bob rings; bob's device answers busy.
	d := callOf(dave.ok(map[string]any{"type": "call_ring", "conversation_id": db.ID}))
	did, _ := d["id"].(string)
	bob2.callEvent(did, "ringing", "")
	bob2.ok(map[string]any{"type": "call_busy", "call_id": did})
	dave.callEvent(did, "ended", "busy")
	if rec := dave.callRecord(did); rec["outcome"] != "busy" || rec["duration_ms"] != float64(0) {
		t.Fatalf("busy record %v", rec)
	}
	// Decline and cancel.
	d = callOf(dave.ok(map[string]any{"type": "call_ring", "conversation_id": db.ID}))
	did, _ = d["id"].(string)
	bob1.ok(map[string]any{"type": "call_decline", "call_id": did})
	dave.callEvent(did, "ended", "declined")
	d = callOf(dave.ok(map[string]any{"type": "call_ring", "conversation_id": db.ID}))
	did, _ = d["id"].(string)
	dave.ok(map[string]any{"type": "call_cancel", "call_id": did})
	bob1.callEvent(did, "ended", "cancelled")
	if rec := bob1.callRecord(did); rec["outcome"] != "cancelled" {
		t.Fatalf("cancel record %v", rec)
	}
}

// An unanswered call rings out as missed; a device that goes away ends its
// call as dropped once the grace has passed.
func TestCallTimeoutAndDrop(t *testing.T) {
	env := apitest.Start(t, nil)
	env.Server.Realtime.SetCallTimes(300*time.Millisecond, 200*time.Millisecond)
	ac, au := env.NewUser(t, "alice")
	bc, bu := env.NewUser(t, "bob")
	ab := directConv(t, ac, bu.ID)
	alice := newCallPeer(t, env, ac, au)
	bob := newCallPeer(t, env, bc, bu)

	id, _ := callOf(alice.ok(map[string]any{"type": "call_ring", "conversation_id": ab.ID}))["id"].(string)
	bob.callEvent(id, "ringing", "")
	c := bob.callEvent(id, "ended", "missed")
	if callOf(c)["ended_by"] != nil {
		t.Fatalf("missed call ended by %v", callOf(c)["ended_by"])
	}
	if rec := bob.callRecord(id); rec["outcome"] != "missed" {
		t.Fatalf("record %v", rec)
	}
	bob.refused(map[string]any{"type": "call_accept", "call_id": id}, "conflict", "")

	// Answered, then the caller's only connection goes away.
	id, _ = callOf(alice.ok(map[string]any{"type": "call_ring", "conversation_id": ab.ID}))["id"].(string)
	bob.ok(map[string]any{"type": "call_accept", "call_id": id})
	_ = alice.conn.Close()
	bob.callEvent(id, "ended", "dropped")
	if rec := bob.callRecord(id); rec["outcome"] != "dropped" {
		t.Fatalf("record %v", rec)
	}
	// A reconnect within the grace keeps the call.
	alice = newCallPeer(t, env, ac, au)
	id, _ = callOf(alice.ok(map[string]any{"type": "call_ring", "conversation_id": ab.ID}))["id"].(string)
	bob.ok(map[string]any{"type": "call_accept", "call_id": id})
	second := dialAuthed(t, env, ac.Token()) // same session as alice
	_ = alice.conn.Close()
	time.Sleep(500 * time.Millisecond) // past the grace: the session still has a connection
	second.send(map[string]any{"type": "call_hangup", "call_id": id, "ref": "h"})
	for {
		m := second.expect("call")
		if m["ref"] == "h" {
			if callOf(m)["end"] != "completed" {
				t.Fatalf("hangup after a reconnect answered %v", m)
			}
			break
		}
	}
}

// Signalling between two nodes sharing PostgreSQL and NATS: the ring, the
// answer, the relayed offer and candidates and the hang-up cross the bus,
// and the busy check holds across nodes.
func TestCallAcrossNodes(t *testing.T) {
	db := pgtest.Schema(t)
	nats := natstest.URL(t) + "?subject=" + natstest.Subject()
	cfg := func(c *server.Config) { c.DB, c.NATS = db, nats }
	n1 := apitest.Start(t, cfg)
	n2 := apitest.Start(t, cfg)
	ac, au := n1.NewUser(t, "alice")
	bc, bu := n2.NewUser(t, "bob")
	cc, _ := n2.NewUser(t, "carol")
	ab := directConv(t, ac, bu.ID)
	cb := directConv(t, cc, bu.ID)
	alice := newCallPeer(t, n1, ac, au)
	bob := newCallPeer(t, n2, bc, bu)
	carol := newCallPeer(t, n2, cc, parley.User{})

	id, _ := callOf(alice.ok(map[string]any{"type": "call_ring", "conversation_id": ab.ID, "video": true}))["id"].(string)
	bob.callEvent(id, "ringing", "")
	carol.refused(map[string]any{"type": "call_ring", "conversation_id": cb.ID}, "conflict", "callee_id")
	bob.ok(map[string]any{"type": "call_accept", "call_id": id})
	alice.callEvent(id, "active", "")
	alice.ok(map[string]any{"type": "call_sdp", "call_id": id, "sdp_type": "offer", "sdp": offerSDP})
	if m := bob.event("call_sdp", nil); m["sdp_type"] != "offer" {
		t.Fatalf("bob on node 2 got %v", m)
	}
	bob.ok(map[string]any{"type": "call_ice", "call_id": id, "candidate": map[string]any{"candidate": "candidate:1 1 udp 1 10.0.0.2 9 typ host"}})
	if m := alice.event("call_ice", nil); m["from"] != bu.ID {
		t.Fatalf("alice on node 1 got %v", m)
	}
	alice.ok(map[string]any{"type": "call_hangup", "call_id": id})
	bob.callEvent(id, "ended", "completed")
	if rec := bob.callRecord(id); rec["outcome"] != "completed" {
		t.Fatalf("record %v", rec)
	}
}
