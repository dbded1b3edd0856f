package e2e_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// newGroup creates a group owned by owner with the given other members.
func newGroup(t *testing.T, owner *client.Client, title string, members ...string) parley.Conversation {
	t.Helper()
	c, _, err := owner.CreateConversation(context.Background(), client.CreateConversationRequest{Kind: parley.KindGroup,
		Title: title, MemberIDs: members})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSendIsIdempotentAndOrdered(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := newGroup(t, alice, "g", b.ID)

	m, created, err := alice.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "m-1", Body: "hello @bob and @nobody"})
	if err != nil || !created || m.Seq != 2 || m.SenderID != a.ID || m.Kind != parley.MessageUser || m.ClientMsgID != "m-1" {
		t.Fatalf("send: %+v %v %v", m, created, err)
	}
	if len(m.Mentions) != 1 || m.Mentions[0] != b.ID {
		t.Fatalf("mentions %v", m.Mentions)
	}
	again, created, err := alice.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "m-1", Body: "a different body"})
	if err != nil || created || again.ID != m.ID || again.Seq != m.Seq || again.Body != m.Body {
		t.Fatalf("resend: %+v %v %v", again, created, err)
	}
	// Bob may use the same client id: the key is (sender, client_msg_id).
	if _, created, err := bob.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "m-1", Body: "mine"}); err != nil || !created {
		t.Fatalf("bob: %v %v", created, err)
	}
	// Reusing a client id in another conversation is a conflict.
	g2 := newGroup(t, alice, "g2")
	_, _, err = alice.Send(ctx, g2.ID, client.SendRequest{ClientMsgID: "m-1", Body: "x"})
	wantCode(t, err, parley.CodeConflict)

	// Concurrent senders: seqs 1..n without gaps, every ack matching history.
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[int64]string{}
	for i, c := range []*client.Client{alice, bob, alice, bob} {
		wg.Go(func() {
			for j := range 15 {
				m, _, err := c.Send(ctx, g.ID, client.SendRequest{ClientMsgID: fmt.Sprintf("c%d-%d", i, j), Body: fmt.Sprint(i, j)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := acked[m.Seq]; dup {
					t.Errorf("seq %d acked twice (%s, %s)", m.Seq, prev, m.ID)
				}
				acked[m.Seq] = m.ID
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	h := must[[]parley.Message](t)(bob.History(ctx, g.ID, client.HistoryQuery{Limit: 200}))
	if len(h) != 63 {
		t.Fatalf("history has %d messages", len(h))
	}
	for i, m := range h {
		if m.Seq != int64(i+1) {
			t.Fatalf("history[%d].Seq = %d", i, m.Seq)
		}
		if id, ok := acked[m.Seq]; ok && id != m.ID {
			t.Fatalf("seq %d: acked %s, history %s", m.Seq, id, m.ID)
		}
	}
}

func TestIdempotencySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var convID, token string
	var first parley.Message
	t.Run("before restart", func(t *testing.T) { // the server stops when the subtest ends
		env := apitest.Start(t, func(c *server.Config) { c.DataDir = dir })
		alice, _ := env.NewUser(t, "alice")
		g := newGroup(t, alice, "g")
		convID, token = g.ID, alice.Token()
		var err error
		first, _, err = alice.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "before-restart", Body: "one"})
		if err != nil {
			t.Fatal(err)
		}
	})
	env := apitest.Start(t, func(c *server.Config) { c.DataDir = dir })
	alice := env.Client(client.WithToken(token))
	again, created, err := alice.Send(ctx, convID, client.SendRequest{ClientMsgID: "before-restart", Body: "one"})
	if err != nil || created || again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("resend after restart: %+v created=%v err=%v", again, created, err)
	}
	next, created, err := alice.Send(ctx, convID, client.SendRequest{ClientMsgID: "after-restart", Body: "two"})
	if err != nil || !created || next.Seq != first.Seq+1 {
		t.Fatalf("next after restart: %+v %v %v", next, created, err)
	}
}

func TestSendRejectsBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := newGroup(t, alice, "g", b.ID)
	other := newGroup(t, bob, "bob's")
	if _, _, err := bob.Send(ctx, other.ID, client.SendRequest{Body: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		conv  string
		req   client.SendRequest
		code  parley.Code
		field string
	}{
		{"too long", g.ID, client.SendRequest{ClientMsgID: "a", Body: strings.Repeat("é", 4001)}, parley.CodeTooLarge, "body"},
		{"empty", g.ID, client.SendRequest{ClientMsgID: "a", Body: "  \n "}, parley.CodeInvalid, "body"},
		{"NUL", g.ID, client.SendRequest{ClientMsgID: "a", Body: "a\x00b"}, parley.CodeInvalid, "body"},
		{"long client id", g.ID, client.SendRequest{ClientMsgID: strings.Repeat("k", 65), Body: "x"}, parley.CodeTooLarge, "client_msg_id"},
		{"client id with space", g.ID, client.SendRequest{ClientMsgID: "a b", Body: "x"}, parley.CodeInvalid, "client_msg_id"},
		{"reply to future", g.ID, client.SendRequest{ClientMsgID: "a", Body: "x", ReplyTo: 99}, parley.CodeInvalid, "reply_to"},
		{"reply negative", g.ID, client.SendRequest{ClientMsgID: "a", Body: "x", ReplyTo: -1}, parley.CodeInvalid, "reply_to"},
		{"someone else's conversation", other.ID, client.SendRequest{ClientMsgID: "a", Body: "x"}, parley.CodeNotFound, ""},
		{"unknown conversation", parley.NewID(), client.SendRequest{ClientMsgID: "a", Body: "x"}, parley.CodeNotFound, ""},
		{"malformed conversation id", "not-an-id", client.SendRequest{ClientMsgID: "a", Body: "x"}, parley.CodeInvalid, "conversation_id"},
	} {
		_, _, err := alice.Send(ctx, tc.conv, tc.req)
		if e := parley.AsError(err); e == nil || e.Code != tc.code || e.Field != tc.field {
			t.Errorf("%s: got %v (field %q), want %s on %q", tc.name, err, fieldOf(err), tc.code, tc.field)
		}
	}
	// Exactly 4,000 characters (multi-byte) fit.
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: strings.Repeat("é", 4000)}); err != nil {
		t.Fatal(err)
	}
	// Raw bodies: missing client_msg_id, wrong types, invalid UTF-8.
	path := "/api/v1/conversations/" + g.ID + "/messages"
	for body, field := range map[string]string{
		`{"body":"no id"}`:                                "client_msg_id",
		`{"client_msg_id":"x","body":5}`:                  "body",
		`{"client_msg_id":7,"body":"x"}`:                  "client_msg_id",
		`{"client_msg_id":"x","body":"x","reply_to":"1"}`: "reply_to",
		`{"client_msg_id":"x","body":"x","extra":1}`:      "extra",
		"{\"client_msg_id\":\"x\",\"body\":\"\xc3\x28\"}": "",
		`[]`: "",
	} {
		status, _, eb := acctRaw(t, env, "POST", path, alice.Token(), "application/json", body)
		if f, _ := eb["field"].(string); status != 400 || f != field {
			t.Errorf("%s: status %d %v, want 400 naming %q", body, status, eb, field)
		}
	}
	// Nothing of that was stored: the history holds the create, one reply-less message.
	h := must[[]parley.Message](t)(alice.History(ctx, g.ID, client.HistoryQuery{}))
	if len(h) != 2 {
		t.Fatalf("history after bad input: %d entries", len(h))
	}
}

func TestSendFloodIsRateLimited(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	g := newGroup(t, alice, "g")
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited, sent := 0, 0
	for w := range 16 {
		wg.Go(func() {
			for j := range 40 {
				_, _, err := alice.Send(ctx, g.ID, client.SendRequest{ClientMsgID: fmt.Sprint(w, "-", j), Body: "flood"})
				mu.Lock()
				switch {
				case err == nil:
					sent++
				case parley.IsCode(err, parley.CodeRateLimited):
					if parley.AsError(err).RetryAfter <= 0 {
						t.Errorf("rate_limited without Retry-After: %v", err)
					}
					limited++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if limited == 0 {
		t.Fatalf("640 sends at once: none rate limited (%d sent)", sent)
	}
	// What was accepted is all there, gap-free.
	h := must[[]parley.Message](t)(alice.History(ctx, g.ID, client.HistoryQuery{Before: 1 << 40, Limit: 1}))
	if h[0].Seq != int64(sent+1) {
		t.Fatalf("last seq %d, sent %d", h[0].Seq, sent)
	}
}

func TestHistoryEditDeleteReplyReact(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, c := env.NewUser(t, "carol")
	g := newGroup(t, alice, "g", b.ID, c.ID)
	for i := range 10 {
		if _, _, err := bob.Send(ctx, g.ID, client.SendRequest{Body: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// History pages both ways.
	newest := must[[]parley.Message](t)(carol.History(ctx, g.ID, client.HistoryQuery{Before: 12, Limit: 4}))
	if len(newest) != 4 || newest[0].Seq != 11 || newest[3].Seq != 8 {
		t.Fatalf("before: %v", seqs(newest))
	}
	after := must[[]parley.Message](t)(carol.History(ctx, g.ID, client.HistoryQuery{After: 9}))
	if len(after) != 2 || after[0].Seq != 10 || after[1].Seq != 11 {
		t.Fatalf("after: %v", seqs(after))
	}
	for _, q := range []client.HistoryQuery{{Before: 5, After: 2}, {Before: -1}, {After: -3}, {Limit: 201}, {Limit: -1}} {
		_, err := carol.History(ctx, g.ID, q)
		wantCode(t, err, parley.CodeInvalid)
	}
	status, _, _ := acctRaw(t, env, "GET", "/api/v1/conversations/"+g.ID+"/messages?before=abc", carol.Token(), "", "")
	if status != 400 {
		t.Fatalf("before=abc: %d", status)
	}
	one := must[parley.Message](t)(carol.Message(ctx, g.ID, 5))
	if one.Body != "m3" || one.SenderID != b.ID {
		t.Fatalf("message 5: %+v", one)
	}
	_, err := carol.Message(ctx, g.ID, 99)
	wantCode(t, err, parley.CodeNotFound)

	// Replies stay within the conversation.
	reply, _, err := carol.Send(ctx, g.ID, client.SendRequest{Body: "re", ReplyTo: 5})
	if err != nil || reply.ReplyTo != 5 {
		t.Fatalf("reply %+v %v", reply, err)
	}
	other := newGroup(t, carol, "other")
	_, _, err = carol.Send(ctx, other.ID, client.SendRequest{Body: "cross", ReplyTo: 5})
	wantCode(t, err, parley.CodeInvalid)

	// Edits: author only; versions kept.
	_, err = alice.EditMessage(ctx, g.ID, 5, "hijack")
	wantCode(t, err, parley.CodeForbidden)
	_, err = bob.EditMessage(ctx, g.ID, 1, "the system message")
	wantCode(t, err, parley.CodeForbidden)
	e := must[parley.Message](t)(bob.EditMessage(ctx, g.ID, 5, "m3 (fixed) @carol"))
	if e.Body != "m3 (fixed) @carol" || e.EditedAt == nil || len(e.Mentions) != 1 || e.Mentions[0] != c.ID {
		t.Fatalf("edit %+v", e)
	}
	_, err = bob.EditMessage(ctx, g.ID, 5, strings.Repeat("x", 4001))
	wantCode(t, err, parley.CodeTooLarge)
	vs := must[[]parley.MessageVersion](t)(carol.MessageVersions(ctx, g.ID, 5))
	if len(vs) != 1 || vs[0].Body != "m3" {
		t.Fatalf("versions %+v", vs)
	}

	// Reactions: counts and who; idempotent; bounded.
	_ = must[[]parley.Reaction](t)(alice.React(ctx, g.ID, 5, "👍"))
	_ = must[[]parley.Reaction](t)(carol.React(ctx, g.ID, 5, "👍"))
	rs := must[[]parley.Reaction](t)(carol.React(ctx, g.ID, 5, "👍"))
	if len(rs) != 1 || rs[0].Count != 2 || rs[0].Emoji != "👍" {
		t.Fatalf("reactions %+v", rs)
	}
	rs = must[[]parley.Reaction](t)(alice.Unreact(ctx, g.ID, 5, "👍"))
	if len(rs) != 1 || rs[0].Count != 1 || rs[0].UserIDs[0] != c.ID {
		t.Fatalf("after unreact %+v", rs)
	}
	for i := range 49 {
		if _, err := alice.React(ctx, g.ID, 5, fmt.Sprintf(":e%d:", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = alice.React(ctx, g.ID, 5, ":one-too-many:")
	wantCode(t, err, parley.CodeTooLarge)
	for _, bad := range []string{"a b", strings.Repeat("x", 65)} {
		_, err = alice.React(ctx, g.ID, 5, bad)
		if !parley.IsCode(err, parley.CodeInvalid) && !parley.IsCode(err, parley.CodeTooLarge) {
			t.Fatalf("emoji %q: %v", bad, err)
		}
	}
	_, err = alice.React(ctx, g.ID, 99, "👍")
	wantCode(t, err, parley.CodeNotFound)
	status, _, _ = acctRaw(t, env, "PUT", "/api/v1/conversations/"+g.ID+"/messages/5/reactions/"+url.PathEscape("\xff"), carol.Token(), "", "")
	if status != 400 {
		t.Fatalf("invalid UTF-8 emoji: %d", status)
	}
	if m := must[parley.Message](t)(bob.Message(ctx, g.ID, 5)); len(m.Reactions) != 50 {
		t.Fatalf("message carries %d reactions", len(m.Reactions))
	}

	// Deletes: author or admin/owner; tombstones keep the seq.
	_, err = carol.DeleteMessage(ctx, g.ID, 6)
	wantCode(t, err, parley.CodeForbidden)
	d := must[parley.Message](t)(bob.DeleteMessage(ctx, g.ID, 5))
	if !d.Deleted || d.Body != "" || len(d.Reactions) != 0 || d.Seq != 5 {
		t.Fatalf("tombstone %+v", d)
	}
	if d2 := must[parley.Message](t)(bob.DeleteMessage(ctx, g.ID, 5)); !d2.Deleted {
		t.Fatalf("second delete %+v", d2)
	}
	if d := must[parley.Message](t)(alice.DeleteMessage(ctx, g.ID, 6)); !d.Deleted { // owner deletes bob's
		t.Fatalf("owner delete %+v", d)
	}
	_, err = alice.DeleteMessage(ctx, g.ID, 1)
	wantCode(t, err, parley.CodeForbidden) // system messages stay
	_, err = bob.EditMessage(ctx, g.ID, 5, "undelete")
	wantCode(t, err, parley.CodeNotFound)
	_, err = carol.React(ctx, g.ID, 5, "👍")
	wantCode(t, err, parley.CodeNotFound)
	if vs := must[[]parley.MessageVersion](t)(carol.MessageVersions(ctx, g.ID, 5)); len(vs) != 0 {
		t.Fatalf("versions survive delete: %+v", vs)
	}
	all := must[[]parley.Message](t)(carol.History(ctx, g.ID, client.HistoryQuery{Limit: 200}))
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("gap at %d: %v", i, seqs(all))
		}
	}
	_ = a
}

func seqs(ms []parley.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func TestBroadcastChannelRefusesMembers(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, c := env.NewUser(t, "carol")
	ch, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel, Title: "news",
		Public: true, Broadcast: true, MemberIDs: []string{b.ID, c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = bob.Send(ctx, ch.ID, client.SendRequest{Body: "me too"})
	wantCode(t, err, parley.CodeForbidden)
	if _, _, err := alice.Send(ctx, ch.ID, client.SendRequest{Body: "announcement"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UpdateMember(ctx, ch.ID, c.ID, client.MemberUpdate{Role: client.Role(parley.RoleAdmin)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := carol.Send(ctx, ch.ID, client.SendRequest{Body: "as admin"}); err != nil {
		t.Fatal(err)
	}
	// Members still react.
	if _, err := bob.React(ctx, ch.ID, 2, "🎉"); err != nil {
		t.Fatal(err)
	}
}
