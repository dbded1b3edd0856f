package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

var baseTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newUsers creates n users named <prefix>0…<prefix>n-1 and returns their ids.
func newUsers(t *testing.T, s parley.Store, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		u := parley.User{ID: parley.NewID(), Username: fmt.Sprintf("%s%d", prefix, i), DisplayName: prefix,
			Role: parley.UserRoleUser, CreatedAt: baseTime, UpdatedAt: baseTime}
		if err := s.CreateUser(context.Background(), u, "x"); err != nil {
			t.Fatalf("create user: %v", err)
		}
		ids[i] = u.ID
	}
	return ids
}

// newConversation creates a conversation of kind with owner users[0] and
// the other users as members.
func newConversation(t *testing.T, s parley.Store, kind parley.ConversationKind, title string, users ...string) parley.Conversation {
	t.Helper()
	c := parley.Conversation{ID: parley.NewID(), Kind: kind, Title: title, CreatedBy: users[0],
		CreatedAt: baseTime, UpdatedAt: baseTime, Public: kind == parley.KindChannel}
	if kind == parley.KindDirect {
		c.DirectKey = parley.DirectKey(users[0], users[1]) // #nosec G602 -- direct conversations are always made with two users
	}
	var ms []parley.Member
	for i, u := range users {
		role := parley.RoleMember
		if i == 0 && kind != parley.KindDirect {
			role = parley.RoleOwner
		}
		ms = append(ms, parley.Member{UserID: u, Role: role, JoinedAt: baseTime.Add(time.Duration(i) * time.Second)})
	}
	sys := []parley.Message{systemMsg(users[0], parley.SystemCreated, users...)}
	res, err := s.CreateConversation(context.Background(), c, ms, sys, nil)
	if err != nil {
		t.Fatalf("create conversation: %v", err)
	}
	return res.Conversation
}

func systemMsg(actor string, action parley.SystemAction, users ...string) parley.Message {
	return parley.Message{ID: parley.NewID(), SenderID: actor, Kind: parley.MessageSystem, CreatedAt: baseTime,
		System: &parley.SystemInfo{Action: action, ActorID: actor, UserIDs: users}}
}

func wantCode(t *testing.T, err error, code parley.Code) {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

func testConversations(t *testing.T, open Opener) {
	t.Run("create and read", func(t *testing.T) { conversationCreateAndRead(t, open) })
	t.Run("direct key is unique", func(t *testing.T) { conversationDirectKeyIsUnique(t, open) })
	t.Run("add remove update members", func(t *testing.T) { conversationAddRemoveUpdateMembers(t, open) })
	t.Run("update conversation", func(t *testing.T) { conversationUpdateConversation(t, open) })
	t.Run("list and browse", func(t *testing.T) { conversationListAndBrowse(t, open) })
}

func ptr[T any](v T) *T { return &v }

// checkGapFree fails unless h holds seqs 1…n in order.
func checkGapFree(t *testing.T, h []parley.Message, n int) {
	t.Helper()
	if len(h) != n {
		t.Fatalf("history has %d messages, want %d", len(h), n)
	}
	for i, m := range h {
		if m.Seq != int64(i+1) {
			t.Fatalf("history[%d].Seq = %d, want %d", i, m.Seq, i+1)
		}
	}
}

// conversationCreateAndRead: create and read.
func conversationCreateAndRead(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cr", 3)
	var notified []parley.MembershipResult
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, Title: "Team", Topic: "t", CreatedBy: u[0],
		CreatedAt: baseTime, UpdatedAt: baseTime}
	ms := []parley.Member{{UserID: u[0], Role: parley.RoleOwner, JoinedAt: baseTime}, {UserID: u[1], Role: parley.RoleMember, JoinedAt: baseTime}}
	res, err := s.CreateConversation(ctx, c, ms, []parley.Message{systemMsg(u[0], parley.SystemCreated, u[0], u[1])},
		func(r parley.MembershipResult) { notified = append(notified, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(notified) != 1 || res.Conversation.LastSeq != 1 || res.Conversation.MemberCount != 2 || len(res.Members) != 2 {
		t.Fatalf("result %+v notified %d", res, len(notified))
	}
	if res.System[0].Seq != 1 || res.System[0].ConversationID != c.ID || res.System[0].System.Action != parley.SystemCreated {
		t.Fatalf("system message %+v", res.System[0])
	}
	got, err := s.Conversation(ctx, c.ID)
	if err != nil || got.Title != "Team" || got.Topic != "t" || got.Kind != parley.KindGroup || got.LastSeq != 1 ||
		got.MemberCount != 2 || !got.CreatedAt.Equal(baseTime) {
		t.Fatalf("conversation %+v, %v", got, err)
	}
	m, err := s.Member(ctx, c.ID, u[0])
	if err != nil || m.Role != parley.RoleOwner {
		t.Fatalf("member %+v %v", m, err)
	}
	_, err = s.Member(ctx, c.ID, u[2])
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.Conversation(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	ids, err := s.MemberIDs(ctx, c.ID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("member ids %v %v", ids, err)
	}
	page, err := s.Members(ctx, c.ID, "", 1)
	if err != nil || len(page) != 1 {
		t.Fatalf("members page %v %v", page, err)
	}
	page2, err := s.Members(ctx, c.ID, page[0].UserID, 10)
	if err != nil || len(page2) != 1 || page2[0].UserID == page[0].UserID {
		t.Fatalf("members page 2 %v %v", page2, err)
	}
	// A failed create (unknown member) leaves nothing behind.
	bad := c
	bad.ID = parley.NewID()
	_, err = s.CreateConversation(ctx, bad, []parley.Member{{UserID: parley.NewID(), Role: parley.RoleOwner, JoinedAt: baseTime}}, nil, nil)
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.Conversation(ctx, bad.ID)
	wantCode(t, err, parley.CodeNotFound)
}

// conversationDirectKeyIsUnique: direct key is unique.
func conversationDirectKeyIsUnique(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "dk", 2)
	c := newConversation(t, s, parley.KindDirect, "", u[0], u[1])
	dup := parley.Conversation{ID: parley.NewID(), Kind: parley.KindDirect, DirectKey: parley.DirectKey(u[1], u[0]),
		CreatedBy: u[1], CreatedAt: baseTime, UpdatedAt: baseTime}
	_, err := s.CreateConversation(ctx, dup, nil, nil, nil)
	wantCode(t, err, parley.CodeConflict)
	got, err := s.ConversationByDirectKey(ctx, parley.DirectKey(u[1], u[0]))
	if err != nil || got.ID != c.ID {
		t.Fatalf("by key: %+v %v", got, err)
	}
}

// conversationAddRemoveUpdateMembers: add remove update members.
func conversationAddRemoveUpdateMembers(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "mm", 5)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	res, err := s.AddMembers(ctx, c.ID, []parley.Member{{UserID: u[1], Role: parley.RoleMember, JoinedAt: baseTime},
		{UserID: u[2], Role: parley.RoleMember, JoinedAt: baseTime.Add(time.Minute)}}, 100,
		systemMsg(u[0], parley.SystemMembersAdded), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Members) != 1 || res.Members[0].UserID != u[2] || res.Conversation.MemberCount != 3 ||
		len(res.System) != 1 || res.System[0].Seq != 2 || strings.Join(res.System[0].System.UserIDs, ",") != u[2] {
		t.Fatalf("add result %+v", res)
	}
	// Adding only existing members appends nothing.
	res, err = s.AddMembers(ctx, c.ID, []parley.Member{{UserID: u[1], Role: parley.RoleMember, JoinedAt: baseTime}}, 100,
		systemMsg(u[0], parley.SystemMembersAdded), nil)
	if err != nil || len(res.Members) != 0 || len(res.System) != 0 || res.Conversation.LastSeq != 2 {
		t.Fatalf("re-add %+v %v", res, err)
	}
	// Over the member limit: nothing changes.
	_, err = s.AddMembers(ctx, c.ID, []parley.Member{{UserID: u[3], Role: parley.RoleMember, JoinedAt: baseTime}}, 3,
		systemMsg(u[0], parley.SystemMembersAdded), nil)
	wantCode(t, err, parley.CodeTooLarge)
	if got, _ := s.Conversation(ctx, c.ID); got.MemberCount != 3 || got.LastSeq != 2 {
		t.Fatalf("after refused add %+v", got)
	}
	_, err = s.AddMembers(ctx, c.ID, []parley.Member{{UserID: parley.NewID(), Role: parley.RoleMember, JoinedAt: baseTime}}, 100,
		systemMsg(u[0], parley.SystemMembersAdded), nil)
	wantCode(t, err, parley.CodeNotFound)

	// Settings and roles.
	yes := true
	admin := parley.RoleAdmin
	res, err = s.UpdateMember(ctx, c.ID, u[1], parley.MemberPatch{Muted: &yes, Pinned: &yes}, nil, nil)
	if err != nil || !res.Members[0].Muted || !res.Members[0].Pinned || res.Members[0].Archived || len(res.System) != 0 {
		t.Fatalf("settings %+v %v", res, err)
	}
	res, err = s.UpdateMember(ctx, c.ID, u[2], parley.MemberPatch{Role: &admin}, ptr(systemMsg(u[0], parley.SystemRoleChanged, u[2])), nil)
	if err != nil || res.Members[0].Role != parley.RoleAdmin || res.System[0].Seq != 3 {
		t.Fatalf("promote %+v %v", res, err)
	}
	member := parley.RoleMember
	_, err = s.UpdateMember(ctx, c.ID, u[0], parley.MemberPatch{Role: &member}, nil, nil)
	wantCode(t, err, parley.CodeConflict)
	_, err = s.UpdateMember(ctx, c.ID, u[4], parley.MemberPatch{Muted: &yes}, nil, nil)
	wantCode(t, err, parley.CodeNotFound)

	// The last owner leaving hands ownership to the first-joined admin.
	res, err = s.RemoveMember(ctx, c.ID, u[0], systemMsg(u[0], parley.SystemMemberLeft, u[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.NewOwner == nil || res.NewOwner.UserID != u[2] || len(res.System) != 2 || res.System[1].Seq != 5 ||
		res.System[1].System.Action != parley.SystemOwnerChanged || res.Conversation.MemberCount != 2 {
		t.Fatalf("leave %+v", res)
	}
	if m, _ := s.Member(ctx, c.ID, u[2]); m.Role != parley.RoleOwner {
		t.Fatalf("new owner role %v", m.Role)
	}
	_, err = s.RemoveMember(ctx, c.ID, u[0], systemMsg(u[0], parley.SystemMemberLeft, u[0]), nil)
	wantCode(t, err, parley.CodeNotFound)
	// Without admins the first-joined member inherits.
	res, err = s.RemoveMember(ctx, c.ID, u[2], systemMsg(u[2], parley.SystemMemberLeft, u[2]), nil)
	if err != nil || res.NewOwner == nil || res.NewOwner.UserID != u[1] {
		t.Fatalf("second handover %+v %v", res, err)
	}
	res, err = s.RemoveMember(ctx, c.ID, u[1], systemMsg(u[1], parley.SystemMemberLeft, u[1]), nil)
	if err != nil || res.NewOwner != nil || res.Conversation.MemberCount != 0 {
		t.Fatalf("last one out %+v %v", res, err)
	}
	// Whoever joins the ownerless conversation first owns it.
	res, err = s.AddMembers(ctx, c.ID, []parley.Member{{UserID: u[3], Role: parley.RoleMember, JoinedAt: baseTime}}, 100,
		systemMsg(u[3], parley.SystemMembersAdded), nil)
	if err != nil || res.NewOwner == nil || res.NewOwner.UserID != u[3] || len(res.System) != 2 ||
		res.System[1].System.Action != parley.SystemOwnerChanged {
		t.Fatalf("join ownerless %+v %v", res, err)
	}
	h, err := s.History(ctx, c.ID, parley.HistoryQuery{After: 0, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	checkGapFree(t, h, int(res.Conversation.LastSeq))
}

// conversationUpdateConversation: update conversation.
func conversationUpdateConversation(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "uc", 1)
	c := newConversation(t, s, parley.KindChannel, "Old", u[0])
	title := "New Name"
	res, err := s.UpdateConversation(ctx, c.ID, parley.ConversationPatch{Title: &title}, baseTime.Add(time.Hour),
		ptr(systemMsg(u[0], parley.SystemConversationUp)), nil)
	if err != nil || res.Conversation.Title != title || res.Conversation.LastSeq != 2 || !res.Conversation.UpdatedAt.Equal(baseTime.Add(time.Hour)) {
		t.Fatalf("update %+v %v", res, err)
	}
	_, err = s.UpdateConversation(ctx, parley.NewID(), parley.ConversationPatch{Title: &title}, baseTime, nil, nil)
	wantCode(t, err, parley.CodeNotFound)
}

// conversationListAndBrowse: list and browse.
func conversationListAndBrowse(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ls", 3)
	var convs []parley.Conversation
	for i := range 5 {
		convs = append(convs, newConversation(t, s, parley.KindChannel, fmt.Sprintf("Chan %d", i), u[0], u[1]))
	}
	// Activity in convs[1] makes it the most recent; u[1] sends two, u[0] one.
	for i, sender := range []string{u[1], u[1], u[0]} {
		m := parley.Message{ID: parley.NewID(), ConversationID: convs[1].ID, SenderID: sender, Kind: parley.MessageUser,
			ClientMsgID: fmt.Sprint("c", i), Body: "hi", CreatedAt: baseTime.Add(time.Hour)}
		if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListConversations(ctx, u[0], parley.ConversationCursor{}, 2)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	if list[0].ID != convs[1].ID || list[0].Unread != 2 || list[0].LastMessage == nil || list[0].LastMessage.Seq != 4 ||
		list[0].Self.UserID != u[0] || list[0].MemberCount != 2 || list[0].LastSeq != 4 {
		t.Fatalf("first entry %+v", list[0])
	}
	// The newest message's reactions come with the entry, and one entry
	// alone reads the same as in the list.
	if _, err := s.React(ctx, convs[1].ID, 4, u[1], "👍", true, 20, baseTime.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	list, err = s.ListConversations(ctx, u[0], parley.ConversationCursor{}, 2)
	if err != nil || len(list) != 2 || list[0].LastMessage == nil || len(list[0].LastMessage.Reactions) != 1 ||
		list[0].LastMessage.Reactions[0].Emoji != "👍" || list[1].LastMessage == nil {
		t.Fatalf("list with reactions %+v %v", list, err)
	}
	for _, want := range list {
		one, err := s.ConversationEntry(ctx, u[0], want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if one.ID != want.ID || one.Unread != want.Unread || one.Self != want.Self || one.LastSeq != want.LastSeq ||
			one.LastMessage == nil || one.LastMessage.ID != want.LastMessage.ID ||
			len(one.LastMessage.Reactions) != len(want.LastMessage.Reactions) {
			t.Fatalf("entry %+v, list had %+v", one, want)
		}
	}
	_, err = s.ConversationEntry(ctx, u[2], convs[1].ID)
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.ConversationEntry(ctx, u[0], parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	seen := map[string]bool{list[0].ID: true, list[1].ID: true}
	cur := parley.ConversationCursor{LastAt: list[1].LastAt, ID: list[1].ID}
	for {
		page, err := s.ListConversations(ctx, u[0], cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if seen[e.ID] {
				t.Fatalf("duplicate %s", e.ID)
			}
			seen[e.ID] = true
		}
		cur = parley.ConversationCursor{LastAt: page[len(page)-1].LastAt, ID: page[len(page)-1].ID}
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d conversations, want 5", len(seen))
	}
	none, err := s.ListConversations(ctx, u[2], parley.ConversationCursor{}, 10)
	if err != nil || len(none) != 0 {
		t.Fatalf("stranger's list %v %v", none, err)
	}
	ids, err := s.ConversationIDs(ctx, u[1])
	if err != nil || len(ids) != 5 {
		t.Fatalf("ids %v %v", ids, err)
	}
	pub, err := s.PublicChannels(ctx, "", "chan 3", "", "", 10)
	if err != nil || len(pub) != 1 || pub[0].ID != convs[3].ID {
		t.Fatalf("search %v %v", pub, err)
	}
	pub, err = s.PublicChannels(ctx, "", "", "", "", 3)
	if err != nil || len(pub) != 3 || pub[0].Title != "Chan 0" {
		t.Fatalf("browse %v %v", pub, err)
	}
	pub, err = s.PublicChannels(ctx, "", "CHAN", pub[2].Title, pub[2].ID, 3)
	if err != nil || len(pub) != 2 || pub[0].Title != "Chan 3" {
		t.Fatalf("browse page 2 %v %v", pub, err)
	}
	newConversation(t, s, parley.KindGroup, "Chan secret", u[0], u[1])
	pub, _ = s.PublicChannels(ctx, "", "secret", "", "", 10)
	if len(pub) != 0 {
		t.Fatalf("private group listed: %v", pub)
	}
}
