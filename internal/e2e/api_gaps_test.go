package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// TestConversationGetIsTheListEntry: GET /conversations/{id} gives a member
// the same entry as the conversation list (self, unread, last message with
// reactions); a non-member of a public channel gets the bare conversation;
// strangers, anonymous callers and malformed ids get 404, 401 and 400.
func TestConversationGetIsTheListEntry(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")
	g := group(t, alice, b)
	for i := range 3 {
		if _, _, err := bob.Send(ctx, g.ID, client.SendRequest{Body: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.React(ctx, g.ID, 4, "🎉"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UpdateMember(ctx, g.ID, "me", client.MemberUpdate{Muted: client.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	e := must[parley.ConversationEntry](t)(alice.ConversationEntry(ctx, g.ID))
	if e.Self.UserID == "" || e.Self.Role != parley.RoleOwner || !e.Self.Muted || e.Unread != 3 || e.LastSeq != 4 ||
		e.LastMessage == nil || e.LastMessage.Seq != 4 || len(e.LastMessage.Reactions) != 1 || e.MemberCount != 2 {
		t.Fatalf("entry %+v", e)
	}
	page := must[client.ConversationPage](t)(alice.Conversations(ctx, "", 0))
	if len(page.Conversations) != 1 || !reflect.DeepEqual(page.Conversations[0], e) {
		t.Fatalf("GET differs from the list entry:\n%+v\n%+v", e, page.Conversations)
	}
	if _, err := alice.MarkRead(ctx, g.ID, 3); err != nil {
		t.Fatal(err)
	}
	e = must[parley.ConversationEntry](t)(alice.ConversationEntry(ctx, g.ID))
	if e.Self.ReadSeq != 3 || e.Unread != 1 {
		t.Fatalf("after reading to 3: read_seq %d unread %d", e.Self.ReadSeq, e.Unread)
	}

	// A public channel: the non-member sees the conversation, no self.
	ch, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel, Title: "pub", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := acctRaw(t, env, "GET", "/api/v1/conversations/"+ch.ID, carol.Token(), "", "")
	if _, hasSelf := body["self"]; status != 200 || hasSelf || body["id"] != ch.ID {
		t.Fatalf("non-member of a public channel: %d %v", status, body)
	}
	if c := must[parley.ConversationEntry](t)(carol.ConversationEntry(ctx, ch.ID)); c.ID != ch.ID || c.Self.UserID != "" {
		t.Fatalf("non-member entry %+v", c)
	}
	// Someone else's private conversation, nobody, garbage.
	_, err = carol.ConversationEntry(ctx, g.ID)
	wantCode(t, err, parley.CodeNotFound)
	_, err = carol.ConversationEntry(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	status, _, body = acctRaw(t, env, "GET", "/api/v1/conversations/"+g.ID, "", "", "")
	if status != 401 {
		t.Fatalf("anonymous: %d %v", status, body)
	}
	for _, bad := range []string{"x", strings.Repeat("0", 27), "%F0%9F%8E%89"} {
		status, _, body = acctRaw(t, env, "GET", "/api/v1/conversations/"+bad, alice.Token(), "", "")
		if status != 400 || body["field"] != "conversation_id" {
			t.Errorf("id %q: %d %v", bad, status, body)
		}
	}
	// A member who left no longer gets the entry.
	if err := bob.Leave(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = bob.ConversationEntry(ctx, g.ID)
	wantCode(t, err, parley.CodeNotFound)
}

// TestUsersBatchLookup: GET /users?ids=… returns the known users in the
// order asked, each once, exactly as GET /users/{id} shows them; unknown
// ids are absent; bad lists are 400 naming ids.
func TestUsersBatchLookup(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	_, b := env.NewUser(t, "bob")
	_, c := env.NewUser(t, "carol")
	unknown := parley.NewID()
	got := must[[]parley.User](t)(alice.Users(ctx, c.ID, unknown, a.ID, b.ID, c.ID))
	if len(got) != 3 || got[0].ID != c.ID || got[1].ID != a.ID || got[2].ID != b.ID {
		t.Fatalf("lookup %+v", got)
	}
	for _, u := range got {
		one := must[parley.User](t)(alice.User(ctx, u.ID))
		if !reflect.DeepEqual(one, u) {
			t.Errorf("batch shows %+v, GET /users/{id} %+v", u, one)
		}
	}
	if none := must[[]parley.User](t)(alice.Users(ctx, unknown)); len(none) != 0 {
		t.Fatalf("unknown only: %+v", none)
	}
	// Repeated ids= parameters are one list.
	status, _, body := acctRaw(t, env, "GET", "/api/v1/users?ids="+a.ID+"&ids="+b.ID, alice.Token(), "", "")
	if users, _ := body["users"].([]any); status != 200 || len(users) != 2 {
		t.Fatalf("repeated ids: %d %v", status, body)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = parley.NewID()
	}
	for _, q := range []string{
		"ids=",                                // empty
		"ids=" + a.ID + ",not-an-id",          // malformed
		"ids=" + a.ID + ",7",                  // wrong type
		"ids=" + strings.Repeat("x", 5000),    // too long
		"ids=" + strings.Join(many, ","),      // too many
		"ids=" + a.ID + "&prefix=al",          // mixed with a search
		"ids=" + url.QueryEscape(a.ID+"\x00"), // NUL
	} {
		status, _, body := acctRaw(t, env, "GET", "/api/v1/users?"+q, alice.Token(), "", "")
		if status != 400 || body["field"] != "ids" {
			t.Errorf("%.60s: %d %v", q, status, body)
		}
	}
	if status, _, _ := acctRaw(t, env, "GET", "/api/v1/users?ids="+a.ID, "", "", ""); status != 401 {
		t.Errorf("anonymous lookup: %d", status)
	}
	_, err := alice.Users(ctx)
	wantCode(t, err, parley.CodeInvalid)
}

// TestRealtimeSendWithAttachments: a WebSocket send with attachment_ids
// stores the files with the message, a resend with the same client_msg_id
// returns the original, and someone else's or a too long list is refused
// with nothing stored.
func TestRealtimeSendWithAttachments(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := group(t, alice, b)
	up := func(c *client.Client, name string) parley.Attachment {
		t.Helper()
		data := []byte("file " + name)
		return must[parley.Attachment](t)(c.Upload(ctx, name, bytes.NewReader(data), int64(len(data))))
	}
	f1, f2 := up(alice, "a.txt"), up(alice, "b.txt")
	ra := connect(t, alice)
	m, err := ra.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "k1", AttachmentIDs: []string{f1.ID, f2.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].ID != f1.ID || m.Attachments[1].ID != f2.ID || m.Body != "" {
		t.Fatalf("ack message %+v", m)
	}
	again, err := ra.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "k1", AttachmentIDs: []string{f1.ID, f2.ID}})
	if err != nil || again.ID != m.ID || len(again.Attachments) != 2 {
		t.Fatalf("resend %+v %v", again, err)
	}
	stored := must[parley.Message](t)(bob.Message(ctx, g.ID, m.Seq))
	if len(stored.Attachments) != 2 {
		t.Fatalf("stored %+v", stored)
	}
	// Bob's upload, an attachment already sent, garbage, too many.
	fb := up(bob, "bob.txt")
	many := make([]string, 11)
	for i := range many {
		many[i] = up(alice, fmt.Sprint("f", i)).ID
	}
	for _, tc := range []struct {
		ids  []string
		code parley.Code
	}{
		{[]string{fb.ID}, parley.CodeInvalid},
		{[]string{f1.ID}, parley.CodeInvalid},
		{[]string{"nope"}, parley.CodeInvalid},
		{many, parley.CodeTooLarge},
	} {
		_, err := ra.Send(ctx, g.ID, client.SendRequest{AttachmentIDs: tc.ids})
		if e := parley.AsError(err); e == nil || e.Code != tc.code || e.Field != "attachment_ids" {
			t.Errorf("attachment_ids %v: %v, want %s naming attachment_ids", tc.ids, err, tc.code)
		}
	}
	// A wrong type in the frame is refused by the decoder, naming the field.
	w := dialAuthed(t, env, alice.Token())
	w.send([]byte(`{"type":"send","ref":"x","conversation_id":"` + g.ID + `","client_msg_id":"k2","attachment_ids":"` + fb.ID + `"}`))
	if e := w.expect("error"); errCode(e) != "invalid" || e["error"].(map[string]any)["field"] != "attachment_ids" {
		t.Errorf("attachment_ids as a string: %v", e)
	}
	if h := must[[]parley.Message](t)(alice.History(ctx, g.ID, client.HistoryQuery{Latest: true})); h[0].Seq != m.Seq {
		t.Fatalf("a refused send stored something: newest is %+v", h[0])
	}
}

// TestSocketHistoryRefusedAfterRemoval: the socket's history frame of a
// member removed over REST is refused from the moment the removal's answer
// arrives, even if their connection has not yet handled member_left (the
// check is in the page's own read, not the connection's subscriptions).
func TestSocketHistoryRefusedAfterRemoval(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := group(t, alice, b) // seq 1: the creation
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "before"}); err != nil {
		t.Fatal(err)
	}
	w := dialAuthed(t, env, bob.Token())
	answer := func() map[string]any {
		t.Helper()
		w.send(map[string]any{"type": "history", "conversation_id": g.ID, "after": 0})
		for {
			m, code := w.next()
			if m == nil {
				t.Fatalf("closed with %d", code)
			}
			if m["type"] == "history" || m["type"] == "error" {
				return m
			}
		}
	}
	if h := answer(); h["type"] != "history" || len(h["messages"].([]any)) != 2 {
		t.Fatalf("member's history: %v", h)
	}
	if err := alice.RemoveMember(ctx, g.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if h := answer(); h["type"] != "error" || errCode(h) != "not_found" {
		t.Fatalf("removed member's history: %v", h)
	}
}

// TestHistoryWithoutCursorIsTheNewestPage: no before/after gives the newest
// page newest first (REST, SDK Latest and the WebSocket history frame);
// after=0 still reads from the start, oldest first.
func TestHistoryWithoutCursorIsTheNewestPage(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, b := env.NewUser(t, "bob")
	g := group(t, alice, b) // seq 1: the creation
	for i := range 5 {
		if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(ms []parley.Message) []int64 {
		out := []int64{}
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	if got := seqs(must[[]parley.Message](t)(alice.History(ctx, g.ID, client.HistoryQuery{Latest: true, Limit: 2}))); !reflect.DeepEqual(got, []int64{6, 5}) {
		t.Errorf("latest page %v, want [6 5]", got)
	}
	if got := seqs(must[[]parley.Message](t)(alice.History(ctx, g.ID, client.HistoryQuery{Before: 5, Limit: 2}))); !reflect.DeepEqual(got, []int64{4, 3}) {
		t.Errorf("next older page %v, want [4 3]", got)
	}
	if got := seqs(must[[]parley.Message](t)(alice.History(ctx, g.ID, client.HistoryQuery{Limit: 2}))); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Errorf("after=0 page %v, want [1 2]", got)
	}
	status, _, body := acctRaw(t, env, "GET", "/api/v1/conversations/"+g.ID+"/messages?limit=3", alice.Token(), "", "")
	ms, _ := body["messages"].([]any)
	if status != 200 || len(ms) != 3 || ms[0].(map[string]any)["seq"] != float64(6) {
		t.Errorf("REST without cursor: %d %v", status, body)
	}
	// The WebSocket history frame follows the same rule.
	w := dialAuthed(t, env, alice.Token())
	w.send(map[string]any{"type": "history", "conversation_id": g.ID, "limit": 2})
	h := w.expect("history")
	if hm, _ := h["messages"].([]any); len(hm) != 2 || hm[0].(map[string]any)["seq"] != float64(6) {
		t.Errorf("WebSocket history without cursor: %v", h)
	}
	w.send(map[string]any{"type": "history", "conversation_id": g.ID, "after": 0, "limit": 2})
	h = w.expect("history")
	if hm, _ := h["messages"].([]any); len(hm) != 2 || hm[0].(map[string]any)["seq"] != float64(1) {
		t.Errorf("WebSocket history after 0: %v", h)
	}
	w.send(map[string]any{"type": "history", "conversation_id": g.ID, "after": "0"})
	if e := w.expect("error"); e["error"].(map[string]any)["field"] != "after" {
		t.Errorf("after as a string: %v", e)
	}
	// Bad forms: both cursors, negative, wrong type, too large.
	for _, tc := range []struct {
		q     string
		field string
	}{
		{"before=3&after=1", "before"},
		{"before=-1", "before"},
		{"after=x", "after"},
		{"limit=201", "limit"},
	} {
		status, _, body := acctRaw(t, env, "GET", "/api/v1/conversations/"+g.ID+"/messages?"+tc.q, alice.Token(), "", "")
		if status != 400 || body["field"] != tc.field {
			t.Errorf("%s: %d %v", tc.q, status, body)
		}
	}
}

// TestLimitFlagsReachTheApp: --send-rate, --max-reactions and --max-members
// (server.Config) bound what the app accepts.
func TestLimitFlagsReachTheApp(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.SendRate, c.MaxReactions, c.MaxMembers = 0.01, 2, 3 })
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, b := env.NewUser(t, "bob")
	_, c := env.NewUser(t, "carol")
	_, d := env.NewUser(t, "dave")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{b.ID, c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.AddMembers(ctx, g.ID, d.ID)
	if e := parley.AsError(err); e == nil || e.Code != parley.CodeTooLarge {
		t.Errorf("a fourth member with --max-members 3: %v", err)
	}
	m, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, emoji := range []string{"👍", "🎉"} {
		if _, err := alice.React(ctx, g.ID, m.Seq, emoji); err != nil {
			t.Fatal(err)
		}
	}
	_, err = alice.React(ctx, g.ID, m.Seq, "🚀")
	if e := parley.AsError(err); e == nil || e.Code != parley.CodeTooLarge || e.Field != "emoji" {
		t.Errorf("a third emoji with --max-reactions 2: %v", err)
	}
	// 0.01/s: the burst (10) is spent long before one more token arrives.
	limited := false
	for i := 0; i < 11 && !limited; i++ {
		_, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: fmt.Sprint(i)})
		limited = parley.IsCode(err, parley.CodeRateLimited)
		if err != nil && !limited {
			t.Fatal(err)
		}
	}
	if !limited {
		t.Error("11 sends at --send-rate 0.01 were all accepted")
	}
}

// TestReactionNoOpsPublishNothing: adding a reaction that is there already
// or removing one that is not answers 200 with the current reactions and
// sends no event; real changes still do.
func TestReactionNoOpsPublishNothing(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	g := group(t, alice, b)
	m, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	rb := connect(t, bob)
	if _, err := alice.React(ctx, g.ID, m.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	rs, err := alice.React(ctx, g.ID, m.Seq, "👍") // again: nothing changes
	if err != nil || len(rs) != 1 || rs[0].Count != 1 {
		t.Fatalf("PUT again: %+v %v", rs, err)
	}
	rs, err = alice.Unreact(ctx, g.ID, m.Seq, "🎉") // absent: nothing changes
	if err != nil || len(rs) != 1 {
		t.Fatalf("DELETE absent: %+v %v", rs, err)
	}
	rs, err = bob.Unreact(ctx, g.ID, m.Seq, "👍") // someone else's reaction is not bob's to remove
	if err != nil || len(rs) != 1 || rs[0].UserIDs[0] == b.ID {
		t.Fatalf("bob removing alice's: %+v %v", rs, err)
	}
	if _, err := alice.Unreact(ctx, g.ID, m.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "end"}); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for {
		ev := next(t, rb)
		if ev.Type == "presence" || ev.Type == "typing" || ev.Type == "receipt" {
			continue
		}
		kinds = append(kinds, ev.Type)
		if ev.Type == "message" {
			break
		}
	}
	if !reflect.DeepEqual(kinds, []string{"reaction", "reaction", "message"}) {
		t.Fatalf("bob saw %v, want one reaction for the add, one for the removal, then the message", kinds)
	}
	// Bad forms still fail the same way: a deleted message, a missing one.
	if _, err := alice.DeleteMessage(ctx, g.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	_, err = alice.Unreact(ctx, g.ID, m.Seq, "👍")
	wantCode(t, err, parley.CodeNotFound)
	_, err = alice.React(ctx, g.ID, 99, "👍")
	wantCode(t, err, parley.CodeNotFound)
}

// TestWSFrameRateFlag: --ws-frame-rate reaches the gateway: the ready frame
// announces it and the third frame of a burst of 2 (rate 1) is refused.
func TestWSFrameRateFlag(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.WSFrameRate = 1 })
	c, _ := env.NewUser(t, "alice")
	w := dialRaw(t, env, nil)
	w.send(map[string]any{"type": "auth", "token": c.Token()})
	limits, _ := w.expect("ready")["limits"].(map[string]any)
	if limits["ops_per_second"] != 1.0 || limits["ops_burst"] != 2.0 {
		t.Fatalf("ready limits = %v, want ops_per_second 1, ops_burst 2", limits)
	}
	for i := range 3 {
		w.send(map[string]any{"type": "ping", "ref": fmt.Sprint(i)})
	}
	w.expect("pong")
	w.expect("pong")
	if e := w.expect("error"); errCode(e) != "rate_limited" || e["ref"] != "2" {
		t.Fatalf("third frame answered %v, want rate_limited", e)
	}
}
