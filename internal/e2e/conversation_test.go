package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

func wantCode(t *testing.T, err error, code parley.Code) {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestDirectConversationsAreDedupedPerPair(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	_, _ = env.NewUser(t, "carol")
	c1, created, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{b.ID}})
	if err != nil || !created || c1.Kind != parley.KindDirect || c1.MemberCount != 2 {
		t.Fatalf("create direct: %+v %v %v", c1, created, err)
	}
	c2, created, err := bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{a.ID}})
	if err != nil || created || c2.ID != c1.ID {
		t.Fatalf("second direct: %+v %v %v", c2, created, err)
	}
	_, _, err = alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{a.ID}})
	wantCode(t, err, parley.CodeInvalid)
	_, _, err = alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{b.ID, parley.NewID()}})
	wantCode(t, err, parley.CodeInvalid)
	_, _, err = alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{parley.NewID()}})
	wantCode(t, err, parley.CodeNotFound)
	// Direct conversations cannot be left or extended.
	wantCode(t, alice.Leave(ctx, c1.ID), parley.CodeForbidden)
	_, err = alice.AddMembers(ctx, c1.ID, b.ID)
	wantCode(t, err, parley.CodeForbidden)
}

func TestCreateConversationRejectsBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	long := make([]byte, 101)
	for i := range long {
		long[i] = 'x'
	}
	for _, tc := range []struct {
		req   client.CreateConversationRequest
		code  parley.Code
		field string
	}{
		{client.CreateConversationRequest{Kind: "room"}, parley.CodeInvalid, "kind"},
		{client.CreateConversationRequest{Kind: parley.KindGroup, Title: string(long)}, parley.CodeTooLarge, "title"},
		{client.CreateConversationRequest{Kind: parley.KindGroup, Public: true}, parley.CodeInvalid, "public"},
		{client.CreateConversationRequest{Kind: parley.KindGroup, Broadcast: true}, parley.CodeInvalid, "broadcast"},
		{client.CreateConversationRequest{Kind: parley.KindChannel}, parley.CodeInvalid, "title"},
		{client.CreateConversationRequest{Kind: parley.KindGroup, MemberIDs: []string{"nope"}}, parley.CodeInvalid, "member_ids"},
		{client.CreateConversationRequest{Kind: parley.KindGroup, MemberIDs: []string{parley.NewID()}}, parley.CodeNotFound, "member_ids"},
	} {
		_, _, err := alice.CreateConversation(ctx, tc.req)
		e := parley.AsError(err)
		if e == nil || e.Code != tc.code || e.Field != tc.field {
			t.Errorf("%+v: got %v (field %q), want %s on %s", tc.req, err, fieldOf(err), tc.code, tc.field)
		}
	}
	// Wrong JSON types and unknown fields are refused naming the field.
	for body, field := range map[string]string{
		`{"kind":"group","member_ids":"x"}`:           "member_ids",
		`{"kind":1}`:                                  "kind",
		`{"kind":"group","public":"yes"}`:             "public",
		`{"kind":"group","owner":"me"}`:               "owner",
		"{\"kind\":\"group\",\"title\":\"bad \xff\"}": "",
	} {
		status, _, eb := acctRaw(t, env, "POST", "/api/v1/conversations", alice.Token(), "application/json", body)
		if f, _ := eb["field"].(string); status != 400 || f != field {
			t.Errorf("%s: status %d body %v, want 400 naming %s", body, status, eb, field)
		}
	}
}

func fieldOf(err error) string {
	if e := parley.AsError(err); e != nil {
		return e.Field
	}
	return ""
}

func TestGroupMembershipRolesAndSystemMessages(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, c := env.NewUser(t, "carol")
	dave, d := env.NewUser(t, "dave")

	g := must[parley.Conversation](t)(func() (parley.Conversation, error) {
		g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Team", MemberIDs: []string{b.ID}})
		return g, err
	}())
	// Plain members cannot add; owners can; re-adding is a no-op.
	_, err := bob.AddMembers(ctx, g.ID, c.ID)
	wantCode(t, err, parley.CodeForbidden)
	added := must[[]parley.Member](t)(alice.AddMembers(ctx, g.ID, c.ID, d.ID))
	if len(added) != 2 {
		t.Fatalf("added %v", added)
	}
	if again := must[[]parley.Member](t)(alice.AddMembers(ctx, g.ID, c.ID)); len(again) != 0 {
		t.Fatalf("re-add added %v", again)
	}
	// Promote carol to admin; admins remove plain members but not owners.
	if m := must[parley.Member](t)(alice.UpdateMember(ctx, g.ID, c.ID, client.MemberUpdate{Role: client.Role(parley.RoleAdmin)})); m.Role != parley.RoleAdmin {
		t.Fatalf("promote: %+v", m)
	}
	_, err = carol.UpdateMember(ctx, g.ID, b.ID, client.MemberUpdate{Role: client.Role(parley.RoleOwner)})
	wantCode(t, err, parley.CodeForbidden)
	wantCode(t, carol.RemoveMember(ctx, g.ID, a.ID), parley.CodeForbidden)
	wantCode(t, bob.RemoveMember(ctx, g.ID, d.ID), parley.CodeForbidden)
	if err := carol.RemoveMember(ctx, g.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	// The removed member lost access.
	_, err = dave.History(ctx, g.ID, client.HistoryQuery{})
	wantCode(t, err, parley.CodeNotFound)
	_, _, err = dave.Send(ctx, g.ID, client.SendRequest{Body: "still here?"})
	wantCode(t, err, parley.CodeNotFound)
	// Settings are one's own; others' settings are off limits.
	m := must[parley.Member](t)(bob.UpdateMember(ctx, g.ID, "me", client.MemberUpdate{Muted: client.Bool(true), Pinned: client.Bool(true)}))
	if !m.Muted || !m.Pinned || m.Archived {
		t.Fatalf("settings %+v", m)
	}
	_, err = alice.UpdateMember(ctx, g.ID, b.ID, client.MemberUpdate{Muted: client.Bool(false)})
	wantCode(t, err, parley.CodeForbidden)
	_, err = alice.UpdateMember(ctx, g.ID, a.ID, client.MemberUpdate{Role: client.Role(parley.RoleMember)})
	wantCode(t, err, parley.CodeConflict) // the last owner
	_, err = alice.UpdateMember(ctx, g.ID, a.ID, client.MemberUpdate{Role: client.Role("king")})
	wantCode(t, err, parley.CodeInvalid)
	// The last owner leaving hands ownership to the admin.
	if err := alice.Leave(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	members := must[client.MemberPage](t)(carol.Members(ctx, g.ID, "", 0))
	roles := map[string]parley.MemberRole{}
	for _, m := range members.Members {
		roles[m.UserID] = m.Role
	}
	if len(roles) != 2 || roles[c.ID] != parley.RoleOwner || roles[b.ID] != parley.RoleMember {
		t.Fatalf("members after owner left: %v", roles)
	}
	// Every change is in the history, in order.
	h := must[[]parley.Message](t)(bob.History(ctx, g.ID, client.HistoryQuery{}))
	var actions []parley.SystemAction
	for i, m := range h {
		if m.Seq != int64(i+1) || m.Kind != parley.MessageSystem {
			t.Fatalf("history[%d] = %+v", i, m)
		}
		actions = append(actions, m.System.Action)
	}
	want := []parley.SystemAction{parley.SystemCreated, parley.SystemMembersAdded, parley.SystemRoleChanged,
		parley.SystemMemberRemoved, parley.SystemMemberLeft, parley.SystemOwnerChanged}
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Fatalf("system messages %v, want %v", actions, want)
	}
	// Title changes: owners/admins only; recorded too.
	_, err = bob.UpdateConversation(ctx, g.ID, client.ConversationUpdate{Title: client.String("Mine")})
	wantCode(t, err, parley.CodeForbidden)
	up := must[parley.Conversation](t)(carol.UpdateConversation(ctx, g.ID, client.ConversationUpdate{Title: client.String("Renamed"), Topic: client.String("t")}))
	if up.Title != "Renamed" || up.Topic != "t" || up.LastSeq != 7 {
		t.Fatalf("update %+v", up)
	}
}

func TestConversationListAndChannels(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	var ids []string
	for i := range 5 {
		c, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel,
			Title: fmt.Sprintf("General %d", i), Public: i%2 == 0, MemberIDs: []string{b.ID}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	// Activity in ids[1] puts it on top with unread counts for bob.
	for i := range 3 {
		if _, _, err := alice.Send(ctx, ids[1], client.SendRequest{Body: fmt.Sprint("hi ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = must[parley.Member](t)(bob.UpdateMember(ctx, ids[1], "me", client.MemberUpdate{Archived: client.Bool(true)}))
	page := must[client.ConversationPage](t)(bob.Conversations(ctx, "", 2))
	if len(page.Conversations) != 2 || page.NextCursor == "" {
		t.Fatalf("page 1: %+v", page)
	}
	top := page.Conversations[0]
	if top.ID != ids[1] || top.Unread != 3 || top.LastMessage == nil || top.LastMessage.Body != "hi 2" ||
		top.LastSeq != 4 || top.MemberCount != 2 || !top.Self.Archived || top.Self.UserID != b.ID {
		t.Fatalf("top entry %+v", top)
	}
	seen := map[string]bool{}
	for cursor := ""; ; {
		p := must[client.ConversationPage](t)(bob.Conversations(ctx, cursor, 2))
		for _, e := range p.Conversations {
			if seen[e.ID] {
				t.Fatalf("duplicate %s", e.ID)
			}
			seen[e.ID] = true
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("listed %d conversations", len(seen))
	}
	_, err := bob.Conversations(ctx, "garbage!", 0)
	wantCode(t, err, parley.CodeInvalid)
	_, err = bob.Conversations(ctx, "", 1000)
	wantCode(t, err, parley.CodeInvalid)

	// Browse public channels; a stranger joins one and sees it.
	carol, c := env.NewUser(t, "carol")
	ch := must[client.ChannelPage](t)(carol.Channels(ctx, "general", "", 0))
	if len(ch.Channels) != 3 {
		t.Fatalf("public channels %+v", ch)
	}
	one := must[client.ChannelPage](t)(carol.Channels(ctx, "GENERAL 2", "", 0))
	if len(one.Channels) != 1 || one.Channels[0].ID != ids[2] {
		t.Fatalf("search %+v", one)
	}
	p1 := must[client.ChannelPage](t)(carol.Channels(ctx, "", "", 2))
	p2 := must[client.ChannelPage](t)(carol.Channels(ctx, "", p1.NextCursor, 2))
	if len(p1.Channels) != 2 || len(p2.Channels) != 1 || p2.NextCursor != "" || p2.Channels[0].Title != "General 4" {
		t.Fatalf("channel pages %+v %+v", p1, p2)
	}
	// A public channel is visible but not readable before joining.
	if _, err := carol.Conversation(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	_, err = carol.History(ctx, ids[0], client.HistoryQuery{})
	wantCode(t, err, parley.CodeForbidden)
	_, err = carol.Conversation(ctx, ids[1]) // private channel
	wantCode(t, err, parley.CodeNotFound)
	_, err = carol.AddMembers(ctx, ids[1], c.ID)
	wantCode(t, err, parley.CodeNotFound)
	if j := must[[]parley.Member](t)(carol.AddMembers(ctx, ids[0], c.ID)); len(j) != 1 || j[0].Role != parley.RoleMember {
		t.Fatalf("join %+v", j)
	}
	_, err = carol.AddMembers(ctx, ids[0], a.ID) // members cannot add others
	wantCode(t, err, parley.CodeForbidden)
	if _, _, err := carol.Send(ctx, ids[0], client.SendRequest{Body: "hello all"}); err != nil {
		t.Fatal(err)
	}
}

// TestEndpointsRejectMalformedBodies sends wrong types, unknown fields and
// out-of-range values to every conversation and message endpoint that takes
// a body or parameters; each is a 400 (or 413) naming the field, and nothing
// changes.
func TestEndpointsRejectMalformedBodies(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, b := env.NewUser(t, "bob")
	g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "g", MemberIDs: []string{b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "x"}); err != nil {
		t.Fatal(err)
	}
	conv := "/api/v1/conversations/" + g.ID
	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"PATCH", conv, `{"title":7}`, 400, "title"},
		{"PATCH", conv, `{"topic":"` + strings.Repeat("t", 501) + `"}`, 413, "topic"},
		{"PATCH", conv, `{"avatar_url":"javascript:alert(1)"}`, 400, "avatar_url"},
		{"PATCH", conv, `{"kind":"channel"}`, 400, "kind"},
		{"POST", conv + "/members", `{"user_ids":"` + b.ID + `"}`, 400, "user_ids"},
		{"POST", conv + "/members", `{"user_ids":[]}`, 400, "user_ids"},
		{"POST", conv + "/members", `{"user_ids":[5]}`, 400, "user_ids"},
		{"POST", conv + "/members", `{"user_ids":["` + parley.NewID() + `"]}`, 404, "user_ids"},
		{"PATCH", conv + "/members/me", `{"muted":"yes"}`, 400, "muted"},
		{"PATCH", conv + "/members/me", `{"role":"root"}`, 400, "role"},
		{"PATCH", conv + "/members/not-an-id", `{"role":"admin"}`, 400, "user_id"},
		{"DELETE", conv + "/members/" + parley.NewID(), ``, 404, "user_id"},
		{"PATCH", conv + "/messages/2", `{"body":["x"]}`, 400, "body"},
		{"PATCH", conv + "/messages/2", `{}`, 400, "body"},
		{"GET", conv + "/messages/0", ``, 400, "seq"},
		{"GET", conv + "/messages/abc", ``, 400, "seq"},
		{"GET", conv + "/messages?limit=x", ``, 400, "limit"},
		{"GET", conv + "/messages?after=-1", ``, 400, "after"},
		{"GET", conv + "/members?cursor=%21", ``, 400, "cursor"},
		{"GET", "/api/v1/channels?limit=0x10", ``, 400, "limit"},
		{"GET", "/api/v1/conversations/not-an-id", ``, 400, "conversation_id"},
	} {
		status, _, eb := acctRaw(t, env, tc.method, tc.path, alice.Token(), "application/json", tc.body)
		if f, _ := eb["field"].(string); status != tc.status || f != tc.field {
			t.Errorf("%s %s %s: %d %v, want %d naming %q", tc.method, tc.path, tc.body, status, eb, tc.status, tc.field)
		}
	}
	got, err := alice.Conversation(ctx, g.ID)
	if err != nil || got.Title != "g" || got.Topic != "" || got.LastSeq != 2 || got.MemberCount != 2 {
		t.Fatalf("conversation changed: %+v %v", got, err)
	}
}
