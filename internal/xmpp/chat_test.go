package xmpp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestSlixmppChat drives two real XMPP clients (slixmpp) and a Parley SDK
// client through one direct conversation: the same message, the same seq,
// in both directions; receipts, markers, MAM, carbons, idempotent resends.
func TestSlixmppChat(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	_, alice := env.NewUser(t, "alice")
	bobc, bob := env.NewUser(t, "bob")

	a := startPy(t, addr, "alice", apitest.Password, "SCRAM-SHA-256")
	a.wait("session_start", nil)
	b := startPy(t, addr, "bob", apitest.Password, "PLAIN")
	b.wait("session_start", nil)

	rt, err := bobc.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	// XMPP → Parley and XMPP.
	a.do(map[string]any{"op": "send", "to": "bob@" + domain, "body": "hello from xmpp", "id": "m-1", "receipt": true, "markable": true})
	got := b.wait("message", field("id", "m-1"))
	if got["body"] != "hello from xmpp" || got["frm"] != "alice@"+domain {
		t.Fatalf("bob got %v", got)
	}
	var wsMsg *parley.Message
	for wsMsg == nil {
		select {
		case ev := <-rt.Events():
			if ev.Type == "message" && ev.Message.Kind == parley.MessageUser {
				wsMsg = ev.Message
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no message over the WebSocket")
		}
	}
	if wsMsg.Body != "hello from xmpp" || wsMsg.ClientMsgID != "m-1" || wsMsg.SenderID != alice.ID {
		t.Fatalf("websocket message %+v", wsMsg)
	}
	conv := wsMsg.ConversationID
	if want := fmt.Sprintf("%s.%d", conv, wsMsg.Seq); got["stanza_id"] != want {
		t.Fatalf("stanza-id %v, want %s (conversation.seq)", got["stanza_id"], want)
	}
	// bob's slixmpp acknowledged the receipt request: alice hears it, and
	// Parley recorded bob's delivered receipt.
	a.wait("receipt", field("id", "m-1"))
	waitReceipt(t, bobc, conv, bob.ID, func(r parley.Receipt) bool { return r.DeliveredSeq >= wsMsg.Seq })

	// A resend with the same id is stored once.
	a.do(map[string]any{"op": "send", "to": "bob@" + domain, "body": "hello from xmpp", "id": "m-1"})
	a.wait("sent", nil)
	a.do(map[string]any{"op": "ping"})
	a.wait("ok", field("op", "ping"))
	hist, err := bobc.History(ctx, conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range hist {
		if m.ClientMsgID == "m-1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("m-1 stored %d times", n)
	}

	// Parley → XMPP, with the same seq.
	sent, _, err := bobc.Send(ctx, conv, client.SendRequest{ClientMsgID: "p-1", Body: "hello from parley"})
	if err != nil {
		t.Fatal(err)
	}
	got = a.wait("message", field("id", "p-1"))
	if got["body"] != "hello from parley" || got["frm"] != "bob@"+domain || got["stanza_id"] != fmt.Sprintf("%s.%d", conv, sent.Seq) {
		t.Fatalf("alice got %v, want seq %d", got, sent.Seq)
	}
	// A displayed marker from alice is her read receipt.
	a.do(map[string]any{"op": "displayed", "to": "bob@" + domain, "id": "p-1"})
	a.wait("ok", field("op", "displayed"))
	waitReceipt(t, bobc, conv, alice.ID, func(r parley.Receipt) bool { return r.ReadSeq == sent.Seq })
	// bob read alice's message on the web: alice's client sees a displayed marker.
	if _, err := bobc.MarkRead(ctx, conv, sent.Seq); err != nil {
		t.Fatal(err)
	}
	a.wait("displayed", field("id", "m-1"))

	// MAM: the archive with bob, oldest first, with the stanza-id as archive id.
	a.do(map[string]any{"op": "mam", "with": "bob@" + domain, "max": 10})
	mam := a.wait("mam", nil)
	res := mam["results"].([]any)
	if len(res) != 2 || res[0].(map[string]any)["body"] != "hello from xmpp" || res[1].(map[string]any)["body"] != "hello from parley" ||
		res[1].(map[string]any)["id"] != fmt.Sprintf("%s.%d", conv, sent.Seq) || mam["complete"] != true {
		t.Fatalf("mam %v", mam)
	}
	// Paging: one at a time, after the first.
	a.do(map[string]any{"op": "mam", "with": "bob@" + domain, "max": 1, "after": res[0].(map[string]any)["id"]})
	mam = a.wait("mam", nil)
	if r := mam["results"].([]any); len(r) != 1 || r[0].(map[string]any)["body"] != "hello from parley" {
		t.Fatalf("mam page %v", mam)
	}

	// A second device of alice with carbons sees what the first sends, and
	// its roster now lists bob.
	a2 := startPy(t, addr, "alice", apitest.Password, "")
	ss := a2.wait("session_start", nil)
	if r := ss["roster"].([]any); len(r) != 1 || r[0] != "bob@"+domain {
		t.Fatalf("roster %v", ss["roster"])
	}
	a2.do(map[string]any{"op": "carbons"})
	a2.wait("ok", field("op", "carbons"))
	a.do(map[string]any{"op": "send", "to": "bob@" + domain, "body": "carbon copy", "id": "m-2"})
	cs := a2.wait("carbon_sent", nil)
	if cs["body"] != "carbon copy" || cs["to"] != "bob@"+domain {
		t.Fatalf("carbon %v", cs)
	}
	b.wait("message", field("id", "m-2"))
	a.none("carbon_sent") // the sending device gets no copy of its own message
	a.none("message")
}

func waitReceipt(t *testing.T, c *client.Client, conv, user string, ok func(parley.Receipt) bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		rs, err := c.Receipts(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.UserID == user && ok(r) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("receipt of %s in %s never matched", user, conv)
}

// TestSlixmppBadPassword: a wrong password fails SASL (SCRAM and PLAIN).
func TestSlixmppBadPassword(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	env.NewUser(t, "carol")
	for _, mech := range []string{"SCRAM-SHA-256", "PLAIN"} {
		p := startPy(t, addr, "carol", "wrong password!", mech)
		p.wait("failed_auth", nil)
	}
}

// TestSlixmppRosterContacts: Parley contacts are on the XMPP roster even
// without a conversation.
func TestSlixmppRosterContacts(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	carolc, carol := env.NewUser(t, "carol")
	davec, dave := env.NewUser(t, "dave")
	if _, err := carolc.RequestContact(ctx, dave.ID); err != nil {
		t.Fatal(err)
	}
	if err := davec.AnswerContactRequest(ctx, carol.ID, true); err != nil {
		t.Fatal(err)
	}
	d := startPy(t, addr, "dave", apitest.Password, "")
	ss := d.wait("session_start", nil)
	if r := ss["roster"].([]any); len(r) != 1 || r[0] != "carol@"+domain {
		t.Fatalf("roster %v", ss["roster"])
	}
}
