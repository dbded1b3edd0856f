package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/gateway"
	"github.com/parley-chat/parley/internal/server"
)

// readyMessages returns the seqs of a ready frame's messages by conversation.
func readyMessages(t *testing.T, ready map[string]any) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	raw, ok := ready["messages"]
	if !ok {
		return out
	}
	for _, m := range raw.([]any) {
		m := m.(map[string]any)
		conv := m["conversation_id"].(string)
		out[conv] = append(out[conv], int64(m["seq"].(float64)))
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestReadyCarriesMissedMessages: an auth frame's since makes ready carry
// the messages after each named position (oldest first, up to the
// conversation's last_seq in ready, at most 100 per conversation), so a
// reconnecting client catches up without a history request; conversations
// the caller is not in, unknown ids and positions already current add
// nothing; a bad since is refused before the token is looked at.
func TestReadyCarriesMissedMessages(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.SendRate = 1000 })
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, c := env.NewUser(t, "carol")
	g := group(t, alice, b) // seq 1: the creation
	long := group(t, alice, b)
	other := group(t, alice, c) // bob is not a member
	for i := range 3 {
		if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: fmt.Sprint("g", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 104 {
		if _, _, err := alice.Send(ctx, long.ID, client.SendRequest{Body: fmt.Sprint("l", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := carol.Send(ctx, other.ID, client.SendRequest{Body: "private"}); err != nil {
		t.Fatal(err)
	}

	w := dialRaw(t, env, nil)
	w.send(map[string]any{"type": "auth", "token": bob.Token(), "since": map[string]int64{
		g.ID: 2, long.ID: 0, other.ID: 0, "01kaw9yq7a8b9c0d1e2f3g4h5j": 0}})
	ready := w.expect("ready")
	got := readyMessages(t, ready)
	if want := seqRange(3, 4); fmt.Sprint(got[g.ID]) != fmt.Sprint(want) {
		t.Errorf("group after seq 2: %v, want %v", got[g.ID], want)
	}
	if want := seqRange(1, gateway.ReadyMessagesPerConversation); fmt.Sprint(got[long.ID]) != fmt.Sprint(want) {
		t.Errorf("long conversation from 0: %v, want seqs 1..%d", got[long.ID], gateway.ReadyMessagesPerConversation)
	}
	if len(got[other.ID]) != 0 || len(got) != 2 {
		t.Errorf("messages of conversations bob is not in: %v", got)
	}
	// The rest of the long conversation comes by history, from where ready stopped.
	w.send(map[string]any{"type": "history", "conversation_id": long.ID, "after": gateway.ReadyMessagesPerConversation})
	if h := w.expect("history"); len(h["messages"].([]any)) != 5 {
		t.Errorf("history after ready: %d messages, want 5", len(h["messages"].([]any)))
	}

	// Current positions: no messages key at all.
	w2 := dialRaw(t, env, nil)
	w2.send(map[string]any{"type": "auth", "token": bob.Token(), "since": map[string]int64{g.ID: 4, long.ID: 105}})
	if r := w2.expect("ready"); r["messages"] != nil {
		t.Errorf("ready for a current client carries messages: %v", r["messages"])
	}
	// A live message after ready is not in ready and is delivered once.
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "live"}); err != nil {
		t.Fatal(err)
	}
	if m := w2.expect("message"); int64(m["message"].(map[string]any)["seq"].(float64)) != 5 {
		t.Errorf("live message: %v", m)
	}

	// Bad since: refused with a typed error, and the connection closes 4401.
	bad := map[string]any{
		"negative":   map[string]any{g.ID: -1},
		"wrong type": map[string]any{g.ID: "two"},
		"not a map":  []int{1},
	}
	tooMany := map[string]int64{}
	for i := range gateway.MaxSince + 1 {
		tooMany[fmt.Sprint("c", i)] = 1
	}
	bad["too many"] = tooMany
	for name, since := range bad {
		w := dialRaw(t, env, nil)
		w.send(map[string]any{"type": "auth", "token": bob.Token(), "since": since})
		e := w.expect("error")
		code := errCode(e)
		if name == "too many" && code != string(parley.CodeTooLarge) || name != "too many" && code != string(parley.CodeInvalid) {
			t.Errorf("%s since: %v", name, e)
		}
		if f, _ := e["error"].(map[string]any)["field"].(string); !strings.HasPrefix(f, "since") {
			t.Errorf("%s since: error names field %q", name, f)
		}
		w.expectClose(4401)
	}
}

// TestSDKCatchesUpFromReady: the Go SDK names its positions (Since, then
// what it emitted) in every auth frame, and emits the messages ready
// carries as message events, in order, once, after "connected".
func TestSDKCatchesUpFromReady(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := group(t, alice, b) // seq 1: the creation
	for i := range 3 {
		if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := bob.Connect(ctx, client.RealtimeOptions{Since: map[string]int64{g.ID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if e := nextOf(t, rt, "connected"); len(e.Ready.Messages) != 3 || e.Ready.Messages[0].Seq != 2 {
		t.Fatalf("ready messages %+v", e.Ready.Messages)
	}
	for want := int64(2); want <= 4; want++ {
		if e := nextOf(t, rt, "message"); e.Message.Seq != want {
			t.Fatalf("message seq %d, want %d", e.Message.Seq, want)
		}
	}
	// Dropped while a message is sent: the reconnect's ready carries it.
	rt.Drop()
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "while away"}); err != nil {
		t.Fatal(err)
	}
	for {
		e := nextOf(t, rt, "message")
		if e.Message.Seq == 5 {
			break
		}
		if e.Message.Seq < 5 {
			t.Fatalf("message %d again", e.Message.Seq)
		}
	}
}
