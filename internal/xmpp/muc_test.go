package xmpp_test

import (
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestSlixmppGroupChat: a Parley group is a MUC room; slixmpp clients enter
// it, talk in it (reflected to the sender), the web side sees the same
// messages with their seq, and outsiders cannot enter.
func TestSlixmppGroupChat(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	alicec, _ := env.NewUser(t, "alice")
	_, bob := env.NewUser(t, "bob")
	env.NewUser(t, "eve")
	group, _, err := alicec.CreateConversation(ctx, client.CreateConversationRequest{Kind: "group", Title: "Team", MemberIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	room := group.ID + "@conference." + domain

	a := startPy(t, addr, "alice", apitest.Password, "")
	a.wait("session_start", nil)
	b := startPy(t, addr, "bob", apitest.Password, "")
	b.wait("session_start", nil)
	a.do(map[string]any{"op": "join", "room": room, "nick": "whoever"})
	a.wait("joined", nil)
	b.do(map[string]any{"op": "join", "room": room, "nick": "bob"})
	b.wait("joined", nil)

	a.do(map[string]any{"op": "groupsend", "room": room, "body": "hello team"})
	got := b.wait("groupchat", field("body", "hello team"))
	if got["nick"] != "alice" || got["room"] != room {
		t.Fatalf("bob got %v", got)
	}
	a.wait("groupchat", field("body", "hello team")) // reflected to the sender

	// The web side posts; both rooms get it.
	m, _, err := alicec.Send(ctx, group.ID, client.SendRequest{ClientMsgID: "web-1", Body: "from the web"})
	if err != nil {
		t.Fatal(err)
	}
	b.wait("groupchat", field("body", "from the web"))
	hist, err := alicec.History(ctx, group.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var fromXMPP *parley.Message
	for i := range hist {
		if hist[i].Body == "hello team" {
			fromXMPP = &hist[i]
		}
	}
	if fromXMPP == nil || fromXMPP.Seq >= m.Seq {
		t.Fatalf("history %+v", hist)
	}

	// The room archive.
	b.do(map[string]any{"op": "mam", "jid": room, "max": 10})
	mam := b.wait("mam", nil)
	if r := mam["results"].([]any); len(r) != 2 || r[0].(map[string]any)["body"] != "hello team" {
		t.Fatalf("room archive %v", mam)
	}

	// eve is no member: she cannot enter or post.
	e := startPy(t, addr, "eve", apitest.Password, "")
	e.wait("session_start", nil)
	e.do(map[string]any{"op": "join", "room": room, "nick": "eve"})
	if ev := e.wait("error", nil); ev["op"] != "join" {
		t.Fatalf("eve: %v", ev)
	}
	e.do(map[string]any{"op": "groupsend", "room": room, "body": "let me in"})
	e.wait("sent", nil)
	time.Sleep(500 * time.Millisecond)
	b.none("groupchat")
	hist, _ = alicec.History(ctx, group.ID, client.HistoryQuery{})
	for _, h := range hist {
		if h.Body == "let me in" {
			t.Fatal("a non-member posted")
		}
	}
}
