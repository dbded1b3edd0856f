package e2e_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// evStream connects c and returns a function that yields the next event
// whose type is not in skip.
func evStream(t *testing.T, c *client.Client) func() client.Event {
	t.Helper()
	rt, err := c.Connect(context.Background(), client.RealtimeOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	skip := map[string]bool{"connected": true, "ready": true, "presence": true, "receipt": true, "typing": true, "pong": true}
	return func() client.Event {
		t.Helper()
		for {
			select {
			case ev, ok := <-rt.Events():
				if !ok {
					t.Fatal("event stream closed")
				}
				if !skip[ev.Type] {
					return ev
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no event")
			}
		}
	}
}

// TestConversationEventsOverWebSocket follows one member through a
// conversation's life and checks each frame of docs/protocol-events.md.
func TestConversationEventsOverWebSocket(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, c := env.NewUser(t, "carol")
	side := newGroup(t, alice, "side", b.ID) // bob stays here: a sentinel
	next := evStream(t, bob)
	// side's creation events are published asynchronously and can reach bob's
	// new socket after it connected: send a barrier and drain up to it.
	barrier, _, err := alice.Send(ctx, side.ID, client.SendRequest{Body: "barrier"})
	if err != nil {
		t.Fatal(err)
	}
	for ev := next(); ev.Type != "message" || ev.Message == nil || ev.Message.ID != barrier.ID; ev = next() {
		if ev.ConversationID != side.ID {
			t.Fatalf("before the barrier: %s", ev.Raw)
		}
	}

	g := newGroup(t, alice, "events", c.ID)
	if _, err := alice.AddMembers(ctx, g.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	ev := next()
	var joined struct {
		Type         string               `json:"type"`
		UserID       string               `json:"user_id"`
		Member       parley.Member        `json:"member"`
		Conversation *parley.Conversation `json:"conversation"`
	}
	if err := json.Unmarshal(ev.Raw, &joined); err != nil || ev.Type != "member_joined" || joined.UserID != b.ID ||
		joined.Member.Role != parley.RoleMember || joined.Conversation == nil || joined.Conversation.ID != g.ID {
		t.Fatalf("member_joined: %s (%v)", ev.Raw, err)
	}
	ev = next()
	if ev.Type != "message" || ev.Message == nil || ev.Message.Kind != parley.MessageSystem ||
		ev.Message.System.Action != parley.SystemMembersAdded || ev.Message.Seq != 2 {
		t.Fatalf("members_added message: %s", ev.Raw)
	}

	m, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "hello @bob"})
	if err != nil {
		t.Fatal(err)
	}
	if ev = next(); ev.Type != "message" || ev.Message.ID != m.ID || ev.Message.Seq != 3 || len(ev.Message.Mentions) != 1 {
		t.Fatalf("message: %s", ev.Raw)
	}
	if _, err := alice.EditMessage(ctx, g.ID, m.Seq, "hello all"); err != nil {
		t.Fatal(err)
	}
	if ev = next(); ev.Type != "message_edited" || ev.Message == nil || ev.Message.Body != "hello all" || ev.Message.EditedAt == nil {
		t.Fatalf("message_edited: %s", ev.Raw)
	}
	if _, err := carol.React(ctx, g.ID, m.Seq, "🎉"); err != nil {
		t.Fatal(err)
	}
	ev = next()
	var r struct {
		Type           string            `json:"type"`
		ConversationID string            `json:"conversation_id"`
		Seq            int64             `json:"seq"`
		UserID         string            `json:"user_id"`
		Emoji          string            `json:"emoji"`
		Added          bool              `json:"added"`
		Reactions      []parley.Reaction `json:"reactions"`
	}
	if err := json.Unmarshal(ev.Raw, &r); err != nil || r.Type != "reaction" || r.Seq != m.Seq || r.UserID != c.ID ||
		!r.Added || len(r.Reactions) != 1 || r.Reactions[0].Count != 1 || r.ConversationID != g.ID {
		t.Fatalf("reaction: %s (%v)", ev.Raw, err)
	}
	if _, err := alice.DeleteMessage(ctx, g.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	if ev = next(); ev.Type != "message_deleted" || !ev.Message.Deleted || ev.Message.Body != "" || ev.Message.Seq != m.Seq {
		t.Fatalf("message_deleted: %s", ev.Raw)
	}
	if _, err := alice.UpdateConversation(ctx, g.ID, client.ConversationUpdate{Title: client.String("renamed")}); err != nil {
		t.Fatal(err)
	}
	var cu struct {
		Type         string              `json:"type"`
		Conversation parley.Conversation `json:"conversation"`
	}
	ev = next()
	if err := json.Unmarshal(ev.Raw, &cu); err != nil || cu.Type != "conversation_updated" || cu.Conversation.Title != "renamed" {
		t.Fatalf("conversation_updated: %s", ev.Raw)
	}
	if ev = next(); ev.Type != "message" || ev.Message.System.Action != parley.SystemConversationUp {
		t.Fatalf("conversation_updated message: %s", ev.Raw)
	}
	// Own settings reach only bob's devices; role changes everyone.
	if _, err := bob.UpdateMember(ctx, g.ID, "me", client.MemberUpdate{Pinned: client.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if ev = next(); ev.Type != "member_updated" || !json.Valid(ev.Raw) {
		t.Fatalf("member_updated: %s", ev.Raw)
	}
	// Removal: the system message, then member_left; after that, nothing.
	if err := alice.RemoveMember(ctx, g.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if ev = next(); ev.Type != "message" || ev.Message.System.Action != parley.SystemMemberRemoved {
		t.Fatalf("member_removed message: %s", ev.Raw)
	}
	if ev = next(); ev.Type != "member_left" {
		t.Fatalf("member_left: %s", ev.Raw)
	}
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "bob cannot see this"}); err != nil {
		t.Fatal(err)
	}
	s, _, err := alice.Send(ctx, side.ID, client.SendRequest{Body: "sentinel"})
	if err != nil {
		t.Fatal(err)
	}
	if ev = next(); ev.Type != "message" || ev.Message.ID != s.ID {
		t.Fatalf("after removal bob got %s, want the sentinel", ev.Raw)
	}
	_ = a
}
