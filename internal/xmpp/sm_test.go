package xmpp_test

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestSlixmppResume: a client whose connection drops resumes its stream
// (XEP-0198) and receives every message sent meanwhile, exactly once.
func TestSlixmppResume(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	env.NewUser(t, "alice")
	bobc, _ := env.NewUser(t, "bob")
	a := startPy(t, addr, "alice", apitest.Password, "")
	a.wait("session_start", nil)

	// bob opens the conversation from the web side and sends one message.
	aliceID := lookup(t, bobc, "alice")
	conv, _, err := bobc.CreateConversation(ctx, client.CreateConversationRequest{Kind: "direct", MemberIDs: []string{aliceID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bobc.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: "before", Body: "before the drop"}); err != nil {
		t.Fatal(err)
	}
	a.wait("message", field("id", "before"))

	a.do(map[string]any{"op": "drop", "pause": 2.0})
	a.wait("ok", field("op", "drop"))
	for i := 0; i < 3; i++ {
		if _, _, err := bobc.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: fmt.Sprint("during-", i), Body: fmt.Sprint("while away ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	a.wait("session_resumed", nil)
	for i := 0; i < 3; i++ {
		a.wait("message", field("id", fmt.Sprint("during-", i)))
	}
	if _, _, err := bobc.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: "after", Body: "after the resume"}); err != nil {
		t.Fatal(err)
	}
	a.wait("message", field("id", "after"))
	a.none("message") // nothing twice
}

func lookup(t *testing.T, c *client.Client, username string) string {
	t.Helper()
	page, err := c.SearchUsers(ctx, username, "", 1)
	if err != nil || len(page.Users) == 0 {
		t.Fatalf("find %s: %v", username, err)
	}
	return page.Users[0].ID
}
