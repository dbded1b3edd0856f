package xmpp_test

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestSlixmppBlocking drives XEP-0191 with slixmpp's plugin: the block list
// is Parley's (the same over REST), a blocked user's message is refused
// with <blocked/>, nothing of theirs reaches the blocker in a shared room,
// and changes made on the web are pushed to the XMPP session.
func TestSlixmppBlocking(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	alicec, alice := env.NewUser(t, "alice")
	bobc, bob := env.NewUser(t, "bob")
	carolc, carol := env.NewUser(t, "carol")
	group, _, err := bobc.CreateConversation(ctx, client.CreateConversationRequest{Kind: "group", Title: "Shared", MemberIDs: []string{alice.ID, carol.ID}})
	if err != nil {
		t.Fatal(err)
	}
	a := startPy(t, addr, "alice", apitest.Password, "PLAIN")
	a.wait("session_start", nil)
	b := startPy(t, addr, "bob", apitest.Password, "PLAIN")
	b.wait("session_start", nil)

	a.do(map[string]any{"op": "blocklist"})
	if got := a.wait("blocklist", nil); fmt.Sprint(got["items"]) != "[]" {
		t.Fatalf("initial block list %v", got)
	}
	a.do(map[string]any{"op": "block", "jids": []string{"bob@" + domain}})
	a.wait("ok", field("op", "block"))
	// Every session that read the list gets the push, this one included.
	if p := a.wait("block_push", nil); p["op"] != "block" || fmt.Sprint(p["items"]) != "[bob@"+domain+"]" {
		t.Fatalf("push %v", p)
	}
	a.do(map[string]any{"op": "blocklist"})
	if got := a.wait("blocklist", nil); fmt.Sprint(got["items"]) != "[bob@"+domain+"]" {
		t.Fatalf("block list %v", got)
	}
	bs, err := alicec.Blocks(ctx)
	if err != nil || len(bs) != 1 || bs[0].UserID != bob.ID {
		t.Fatalf("REST block list %+v %v", bs, err)
	}

	// bob → alice is refused with XEP-0191's error; alice sees nothing.
	b.do(map[string]any{"op": "send", "to": "alice@" + domain, "body": "can you hear me", "id": "blk-1"})
	e := b.wait("message_error", field("id", "blk-1"))
	if e["condition"] != "not-acceptable" || e["blocked"] != true {
		t.Fatalf("bob's error %v", e)
	}
	// In the shared room, bob's message does not reach alice; carol's does.
	a.do(map[string]any{"op": "join", "room": group.ID + "@conference." + domain, "nick": "alice"})
	a.wait("joined", nil)
	if _, _, err := bobc.Send(ctx, group.ID, client.SendRequest{ClientMsgID: "g-bob", Body: "from bob"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := carolc.Send(ctx, group.ID, client.SendRequest{ClientMsgID: "g-carol", Body: "from carol"}); err != nil {
		t.Fatal(err)
	}
	a.wait("groupchat", field("body", "from carol"))
	a.none("groupchat")

	// Blocking someone outside this server, or an unknown user, is refused.
	a.do(map[string]any{"op": "block", "jids": []string{"x@elsewhere.example"}})
	if e := a.wait("error", field("op", "block")); e["text"] == "" {
		t.Fatalf("foreign JID: %v", e)
	}
	a.do(map[string]any{"op": "block", "jids": []string{"nobody@" + domain}})
	a.wait("error", field("op", "block"))

	// Unblocking on the web is pushed to the XMPP session.
	if err := alicec.Unblock(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if p := a.wait("block_push", nil); p["op"] != "unblock" || fmt.Sprint(p["items"]) != "[bob@"+domain+"]" {
		t.Fatalf("push %v", p)
	}
	b.do(map[string]any{"op": "send", "to": "alice@" + domain, "body": "now?", "id": "blk-2"})
	a.wait("message", field("id", "blk-2"))
	// An empty unblock lifts every block.
	a.do(map[string]any{"op": "block", "jids": []string{"bob@" + domain, "carol@" + domain}})
	a.wait("ok", field("op", "block"))
	a.do(map[string]any{"op": "unblock"})
	a.wait("ok", field("op", "unblock"))
	if bs, _ := alicec.Blocks(ctx); len(bs) != 0 {
		t.Fatalf("after an empty unblock: %+v", bs)
	}
}
