package app_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func searchBodies(t *testing.T, e *msgEnv, actor parley.Actor, q string) []string {
	t.Helper()
	hits, _, err := e.app.SearchMessages(context.Background(), actor, app.SearchMessagesInput{Query: q})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var out []string
	for _, h := range hits {
		out = append(out, h.Message.Body)
	}
	return out
}

func TestSearchSeesOnlyCurrentConversations(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	group, _, err := e.app.CreateConversation(ctx, alice, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{bob.UserID, carol.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.app.CreateConversation(ctx, bob, app.CreateConversationInput{Kind: parley.KindGroup, Title: "o",
		MemberIDs: []string{carol.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(a parley.Actor, conv, body string) parley.Message {
		m, _, err := e.app.SendMessage(ctx, a, app.SendMessageInput{ConversationID: conv, ClientMsgID: parley.NewID(), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	send(bob, group.ID, "launch codes are blue")
	send(bob, other.ID, "launch codes are red")
	if got := searchBodies(t, e, alice, "launch"); len(got) != 1 || got[0] != "launch codes are blue" {
		t.Fatalf("alice found %q", got)
	}
	if got := searchBodies(t, e, carol, "launch"); len(got) != 2 {
		t.Fatalf("carol found %q", got)
	}
	// Someone else's conversation in in: is not_found, like every other access.
	_, _, err = e.app.SearchMessages(ctx, alice, app.SearchMessagesInput{Query: "launch in:" + other.ID})
	if !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("in: other: %v", err)
	}
	_, _, err = e.app.SearchMessages(ctx, alice, app.SearchMessagesInput{Query: "launch in:" + parley.NewID()})
	if !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("in: unknown: %v", err)
	}
	// After carol is removed and alice leaves, neither finds the group.
	if err := e.app.RemoveMember(ctx, alice, group.ID, carol.UserID); err != nil {
		t.Fatal(err)
	}
	if got := searchBodies(t, e, carol, "launch"); len(got) != 1 || got[0] != "launch codes are red" {
		t.Fatalf("carol after removal found %q", got)
	}
	if err := e.app.RemoveMember(ctx, alice, group.ID, alice.UserID); err != nil {
		t.Fatal(err)
	}
	if got := searchBodies(t, e, alice, "launch"); len(got) != 0 {
		t.Fatalf("alice after leaving found %q", got)
	}
	_, _, err = e.app.SearchMessages(ctx, alice, app.SearchMessagesInput{Query: "launch in:" + group.ID})
	if !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("in: left: %v", err)
	}
}

func TestSearchFollowsEditsAndDeletes(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	c, _, err := e.app.CreateConversation(ctx, alice, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.app.SendMessage(ctx, alice, app.SendMessageInput{ConversationID: c.ID, ClientMsgID: "1",
		Body: "meet @bob at the <b>old</b> mill"})
	if err != nil {
		t.Fatal(err)
	}
	hits, _, err := e.app.SearchMessages(ctx, bob, app.SearchMessagesInput{Query: "MILL mentions:me from:@alice"})
	if err != nil || len(hits) != 1 {
		t.Fatalf("%v %v", hits, err)
	}
	// The snippet is plain text in parts: markup stays text, hits are marked.
	var b strings.Builder
	for _, p := range hits[0].Snippet {
		if p.Hit {
			b.WriteString("[" + p.Text + "]")
		} else {
			b.WriteString(p.Text)
		}
	}
	if b.String() != "meet @bob at the <b>old</b> [mill]" {
		t.Fatalf("snippet %q", b.String())
	}
	if got := searchBodies(t, e, bob, "mill from:bob"); len(got) != 0 {
		t.Fatalf("from:bob found %q", got)
	}
	if got := searchBodies(t, e, bob, "mill from:nobody"); len(got) != 0 {
		t.Fatalf("from:nobody found %q", got)
	}
	if _, err := e.app.EditMessage(ctx, alice, c.ID, m.Seq, "meet at the new barn"); err != nil {
		t.Fatal(err)
	}
	if got := searchBodies(t, e, bob, "mill"); len(got) != 0 {
		t.Fatalf("old text found after edit: %q", got)
	}
	if got := searchBodies(t, e, bob, "barn"); len(got) != 1 {
		t.Fatalf("new text not found after edit: %q", got)
	}
	if _, err := e.app.DeleteMessage(ctx, alice, c.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	if got := searchBodies(t, e, bob, "barn"); len(got) != 0 {
		t.Fatalf("deleted message found: %q", got)
	}
}

func TestSearchRefusesBadInput(t *testing.T) {
	e := newMsgEnv(t, app.Limits{})
	ctx := context.Background()
	alice := e.user(t, "alice")
	for _, tc := range []struct {
		in    app.SearchMessagesInput
		code  parley.Code
		field string
	}{
		{app.SearchMessagesInput{Query: ""}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "   "}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: strings.Repeat("a", parley.SearchQueryMaxChars+1)}, parley.CodeTooLarge, "q"},
		{app.SearchMessagesInput{Query: "a b c d e f g h i"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x has:video"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x before:yesterday"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x after:2026-13-01"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x after:2026-02-01 before:2026-01-01"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x in:notanid"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x from:a"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x mentions:you"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x\x00y"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x\u202ey"}, parley.CodeInvalid, "q"},
		{app.SearchMessagesInput{Query: "x", Order: "best"}, parley.CodeInvalid, "order"},
		{app.SearchMessagesInput{Query: "x", Limit: -1}, parley.CodeInvalid, "limit"},
		{app.SearchMessagesInput{Query: "x", Limit: app.MaxSearchLimit + 1}, parley.CodeInvalid, "limit"},
		{app.SearchMessagesInput{Query: "x", Cursor: "!!"}, parley.CodeInvalid, "cursor"},
		{app.SearchMessagesInput{Query: "xyz", Cursor: encode("recent", "")}, parley.CodeInvalid, "cursor"},
		{app.SearchMessagesInput{Query: "xyz", Cursor: encode("recent")}, parley.CodeInvalid, "cursor"},
	} {
		_, _, err := e.app.SearchMessages(ctx, alice, tc.in)
		var pe *parley.Error
		if !parley.IsCode(err, tc.code) || !asErr(err, &pe) || pe.Field != tc.field {
			t.Errorf("%+v: got %v, want %s on %s", tc.in, err, tc.code, tc.field)
		}
	}
	// A cursor of one order is refused in the other; a store cursor that
	// does not parse is refused by the store.
	rel := app.SearchMessagesInput{Query: "xyz", Order: "relevance", Cursor: encode("recent", "r5")}
	if _, _, err := e.app.SearchMessages(ctx, alice, rel); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("cross-order cursor: %v", err)
	}
	bad := app.SearchMessagesInput{Query: "xyz", Cursor: encode("recent", "zz")}
	if _, _, err := e.app.SearchMessages(ctx, alice, bad); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("bad store cursor: %v", err)
	}
	if _, _, err := e.app.SearchMessages(ctx, parley.Actor{}, app.SearchMessagesInput{Query: "x"}); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Errorf("anonymous: %v", err)
	}
	// A flood of searches is rate limited.
	var limited error
	for range 100 {
		if _, _, err := e.app.SearchMessages(ctx, alice, app.SearchMessagesInput{Query: "flood"}); err != nil {
			limited = err
			break
		}
	}
	if !parley.IsCode(limited, parley.CodeRateLimited) {
		t.Fatalf("flood: %v", limited)
	}
}

func TestHistoryAround(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	c, _, err := e.app.CreateConversation(ctx, alice, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, _, err := e.app.SendMessage(ctx, alice, app.SendMessageInput{ConversationID: c.ID,
			ClientMsgID: parley.NewID(), Body: strings.Repeat("x", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := e.app.HistoryAround(ctx, alice, c.ID, 15, 10)
	if err != nil || len(ms) != 10 || ms[0].Seq != 10 || ms[5].Seq != 15 || ms[9].Seq != 19 {
		t.Fatalf("around 15: %d %v", len(ms), err)
	}
	ms, err = e.app.HistoryAround(ctx, alice, c.ID, 2, 10)
	if err != nil || len(ms) != 10 || ms[0].Seq != 1 || ms[9].Seq != 10 {
		t.Fatalf("around 2: %v", err)
	}
	ms, err = e.app.HistoryAround(ctx, alice, c.ID, 1000, 10)
	if err != nil || len(ms) != 6 || ms[5].Seq != 31 {
		t.Fatalf("around beyond the end: %d %v", len(ms), err)
	}
	if _, err := e.app.HistoryAround(ctx, bob, c.ID, 5, 10); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("non-member: %v", err)
	}
	if _, err := e.app.HistoryAround(ctx, alice, c.ID, 0, 10); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("seq 0: %v", err)
	}
	if _, err := e.app.HistoryAround(ctx, alice, c.ID, 5, app.MaxPageLimit+1); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("limit: %v", err)
	}
}

func asErr(err error, pe **parley.Error) bool { return errors.As(err, pe) }

// encode builds a cursor the way the app does (base64url of NUL-joined parts).
func encode(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}
