package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func wantModErr(t *testing.T, err error, code parley.Code, field string) {
	t.Helper()
	e := parley.AsError(err)
	if e == nil || e.Code != code || e.Field != field {
		t.Fatalf("got %v, want %s (field %q)", err, code, field)
	}
}

func send(e *msgEnv, a parley.Actor, conv, body string) (parley.Message, error) {
	m, _, err := e.app.SendMessage(context.Background(), a, app.SendMessageInput{ConversationID: conv,
		ClientMsgID: parley.NewID(), Body: body})
	return m, err
}

func TestBlockStopsDirectMessagesInvitesAndRequests(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	a, b, c := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	dm, _, err := e.app.CreateConversation(ctx, a, app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	g, _, _ := e.app.CreateConversation(ctx, c, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{a.UserID, b.UserID}})
	if _, err := send(e, b, dm.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.BlockUser(ctx, a, b.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.BlockUser(ctx, a, b.UserID); err != nil {
		t.Fatalf("block again: %v", err)
	}
	// No direct messages either way.
	_, err = send(e, b, dm.ID, "hello?")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	_, err = send(e, a, dm.ID, "bye")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	// The group still works for both.
	if _, err := send(e, b, g.ID, "in the group"); err != nil {
		t.Fatal(err)
	}
	// No invitations, adds or contact requests either way.
	_, _, err = e.app.CreateConversation(ctx, b, app.CreateConversationInput{Kind: parley.KindGroup, Title: "x", MemberIDs: []string{a.UserID}})
	wantModErr(t, err, parley.CodeForbidden, "member_ids")
	g2, _, _ := e.app.CreateConversation(ctx, b, app.CreateConversationInput{Kind: parley.KindGroup, Title: "y"})
	_, err = e.app.AddMembers(ctx, b, g2.ID, []string{a.UserID})
	wantModErr(t, err, parley.CodeForbidden, "user_ids")
	_, err = e.app.RequestContact(ctx, b, a.UserID)
	wantModErr(t, err, parley.CodeForbidden, "user_id")
	_, err = e.app.RequestContact(ctx, a, b.UserID)
	wantModErr(t, err, parley.CodeForbidden, "user_id")
	// Typing in the shared group skips the blocker.
	rt := app.NewRealtime(e.app, nil)
	n := len(e.events(t, 0))
	if err := rt.Typing(ctx, b, g.ID, true); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, n+1)
	ev := evs[len(evs)-1]
	if ev.Kind != parley.EventTyping || ev.ConversationID != "" || slices.Contains(ev.UserIDs, a.UserID) ||
		!slices.Contains(ev.UserIDs, c.UserID) {
		t.Fatalf("typing event %+v", ev)
	}
	// Bad input.
	_, err = e.app.BlockUser(ctx, a, a.UserID)
	wantModErr(t, err, parley.CodeInvalid, "user_id")
	_, err = e.app.BlockUser(ctx, a, parley.NewID())
	wantModErr(t, err, parley.CodeNotFound, "user_id")
	_, err = e.app.BlockUser(ctx, a, "nope")
	wantModErr(t, err, parley.CodeInvalid, "user_id")
	_, err = e.app.BlockUser(ctx, parley.Actor{}, b.UserID)
	wantModErr(t, err, parley.CodeUnauthenticated, "")
	wantModErr(t, e.app.UnblockUser(ctx, b, a.UserID), parley.CodeNotFound, "user_id")
	// List, unblock.
	bs, err := e.app.Blocks(ctx, a)
	if err != nil || len(bs) != 1 || bs[0].UserID != b.UserID {
		t.Fatalf("blocks %v %v", bs, err)
	}
	if err := e.app.UnblockUser(ctx, a, b.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := send(e, b, dm.ID, "friends again"); err != nil {
		t.Fatal(err)
	}
}

func TestModerationMuteSlowModeReadOnlyAndRules(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	o, ad, m, x := e.user(t, "owner"), e.user(t, "admin"), e.user(t, "member"), e.user(t, "other")
	g, _, _ := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{ad.UserID, m.UserID, x.UserID}})
	admin := parley.RoleAdmin
	if _, err := e.app.UpdateMember(ctx, o, g.ID, ad.UserID, app.MemberUpdate{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	// Who may mute whom.
	_, err := e.app.MuteMember(ctx, m, g.ID, x.UserID, time.Minute, "")
	wantModErr(t, err, parley.CodeForbidden, "")
	_, err = e.app.MuteMember(ctx, ad, g.ID, o.UserID, time.Minute, "")
	wantModErr(t, err, parley.CodeForbidden, "")
	_, err = e.app.MuteMember(ctx, ad, g.ID, ad.UserID, time.Minute, "")
	wantModErr(t, err, parley.CodeInvalid, "user_id")
	_, err = e.app.MuteMember(ctx, ad, g.ID, m.UserID, 0, "")
	wantModErr(t, err, parley.CodeInvalid, "duration_seconds")
	_, err = e.app.MuteMember(ctx, ad, g.ID, m.UserID, time.Minute, strings.Repeat("r", parley.MaxModReasonChars+1))
	wantModErr(t, err, parley.CodeTooLarge, "reason")
	_, err = e.app.MuteMember(ctx, ad, g.ID, parley.NewID(), time.Minute, "")
	wantModErr(t, err, parley.CodeNotFound, "user_id")
	// A mute ends by itself.
	until, err := e.app.MuteMember(ctx, ad, g.ID, m.UserID, time.Minute, "calm down")
	if err != nil || !until.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatal(until, err)
	}
	_, err = send(e, m, g.ID, "hey")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	e.clock.Add(61 * time.Second)
	if _, err := send(e, m, g.ID, "hey"); err != nil {
		t.Fatal(err)
	}
	// Slow mode: the error says when to retry; managers are exempt.
	if _, err := e.app.SetConversationRules(ctx, m, g.ID, parley.ConversationRules{SlowModeSeconds: 10}); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("member sets rules: %v", err)
	}
	_, err = e.app.SetConversationRules(ctx, o, g.ID, parley.ConversationRules{SlowModeSeconds: -1})
	wantModErr(t, err, parley.CodeInvalid, "slow_mode_seconds")
	if _, err := e.app.SetConversationRules(ctx, o, g.ID, parley.ConversationRules{SlowModeSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := send(e, m, g.ID, "one"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Second)
	_, err = send(e, m, g.ID, "two")
	if pe := parley.AsError(err); pe == nil || pe.Code != parley.CodeRateLimited || pe.RetryAfter != 7*time.Second {
		t.Fatalf("slow mode: %v", err)
	}
	for range 3 {
		if _, err := send(e, o, g.ID, "owner talks"); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(7 * time.Second)
	if _, err := send(e, m, g.ID, "two"); err != nil {
		t.Fatal(err)
	}
	// Read-only, length, links, deny lists.
	set := func(r parley.ConversationRules) {
		t.Helper()
		if _, err := e.app.SetConversationRules(ctx, ad, g.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	set(parley.ConversationRules{ReadOnly: true})
	_, err = send(e, m, g.ID, "hm")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	if _, err := send(e, ad, g.ID, "admins still post"); err != nil {
		t.Fatal(err)
	}
	set(parley.ConversationRules{MaxMessageChars: 5, NoLinks: true})
	_, err = send(e, m, g.ID, "too long")
	wantModErr(t, err, parley.CodeTooLarge, "body")
	_, err = send(e, m, g.ID, "a.com")
	wantModErr(t, err, parley.CodeForbidden, "body")
	set(parley.ConversationRules{DenyWords: []string{"spam"}, DenyPatterns: []string{`b[a4]d+`}})
	_, err = send(e, m, g.ID, "no SPAM here")
	wantModErr(t, err, parley.CodeForbidden, "body")
	if _, err := send(e, m, g.ID, "spammer is a different word"); err != nil {
		t.Fatal(err)
	}
	set(parley.ConversationRules{DenyWords: []string{"spam"}, DenyPatterns: []string{`b[a4]d+`}, DenyAction: parley.DenyMask})
	got, err := send(e, m, g.ID, "spam is b4ddd")
	if err != nil || got.Body != "**** is *****" {
		t.Fatalf("masked %q %v", got.Body, err)
	}
	_, err = e.app.SetConversationRules(ctx, o, g.ID, parley.ConversationRules{DenyPatterns: []string{"(unclosed"}})
	wantModErr(t, err, parley.CodeInvalid, "deny_patterns")
	_, err = e.app.SetConversationRules(ctx, o, g.ID, parley.ConversationRules{DenyPatterns: []string{strings.Repeat("a", parley.MaxDenyPatternLen+1)}})
	wantModErr(t, err, parley.CodeTooLarge, "deny_patterns")
	// Edits follow the rules too.
	_, err = e.app.EditMessage(ctx, m, g.ID, got.Seq, "more spam")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := e.app.Message(ctx, m, g.ID, got.Seq); h.Body != "more ****" {
		t.Fatalf("edited %q", h.Body)
	}
	// Server-wide deny list: admins only, applies everywhere.
	_, err = e.app.SetServerRules(ctx, o, parley.ConversationRules{DenyWords: []string{"evil"}})
	wantModErr(t, err, parley.CodeForbidden, "")
	_, err = e.app.SetServerRules(ctx, app.Operator, parley.ConversationRules{ReadOnly: true})
	wantModErr(t, err, parley.CodeInvalid, "rules")
	if _, err := e.app.SetServerRules(ctx, app.Operator, parley.ConversationRules{DenyWords: []string{"evil"}}); err != nil {
		t.Fatal(err)
	}
	dm, _, _ := e.app.CreateConversation(ctx, m, app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{x.UserID}})
	_, err = send(e, m, dm.ID, "pure evil")
	wantModErr(t, err, parley.CodeForbidden, "body")
	// Direct conversations have no moderators.
	_, err = e.app.MuteMember(ctx, m, dm.ID, x.UserID, time.Minute, "")
	wantModErr(t, err, parley.CodeForbidden, "")
	// Every action is audited.
	audit, err := e.app.Audit(ctx, app.Operator, parley.AuditQuery{TargetID: m.UserID})
	if err != nil || len(audit) != 1 || audit[0].Action != "conversation.mute" || !strings.Contains(audit[0].Detail, "calm down") {
		t.Fatalf("audit %+v %v", audit, err)
	}
}

func TestModerationKickAndBan(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	o, m, x := e.user(t, "owner"), e.user(t, "member"), e.user(t, "outsider")
	ch, _, _ := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindChannel, Title: "c", Public: true,
		MemberIDs: []string{m.UserID}})
	if err := e.app.KickMember(ctx, o, ch.ID, m.UserID, "out"); err != nil {
		t.Fatal(err)
	}
	wantModErr(t, e.app.KickMember(ctx, o, ch.ID, m.UserID, "again"), parley.CodeNotFound, "user_id")
	if _, err := e.app.AddMembers(ctx, m, ch.ID, []string{m.UserID}); err != nil {
		t.Fatalf("rejoin after kick: %v", err)
	}
	if _, err := e.app.BanMember(ctx, o, ch.ID, m.UserID, "spam"); err != nil {
		t.Fatal(err)
	}
	_, err := e.app.AddMembers(ctx, m, ch.ID, []string{m.UserID})
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	_, err = e.app.AddMembers(ctx, o, ch.ID, []string{m.UserID, x.UserID})
	wantModErr(t, err, parley.CodeForbidden, "user_ids")
	// A non-member can be banned before they come.
	if _, err := e.app.BanMember(ctx, o, ch.ID, x.UserID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.AddMembers(ctx, x, ch.ID, []string{x.UserID})
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	bans, err := e.app.Bans(ctx, o, ch.ID)
	if err != nil || len(bans) != 2 || bans[0].Reason != "spam" {
		t.Fatalf("bans %+v %v", bans, err)
	}
	if err := e.app.UnbanMember(ctx, o, ch.ID, m.UserID, "second chance"); err != nil {
		t.Fatal(err)
	}
	wantModErr(t, e.app.UnbanMember(ctx, o, ch.ID, m.UserID, ""), parley.CodeNotFound, "user_id")
	if _, err := e.app.AddMembers(ctx, m, ch.ID, []string{m.UserID}); err != nil {
		t.Fatalf("rejoin after unban: %v", err)
	}
	_, err = e.app.Bans(ctx, m, ch.ID)
	wantModErr(t, err, parley.CodeForbidden, "")
	// The history records each action.
	h, err := e.app.History(ctx, o, ch.ID, app.HistoryInput{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []parley.SystemAction
	for _, msg := range h {
		if msg.System != nil {
			actions = append(actions, msg.System.Action)
		}
	}
	want := []parley.SystemAction{parley.SystemCreated, parley.SystemMemberKicked, parley.SystemMembersAdded,
		parley.SystemMemberBanned, parley.SystemMemberBanned, parley.SystemMemberUnbanned, parley.SystemMembersAdded}
	if !slices.Equal(actions, want) {
		t.Fatalf("system actions %v, want %v", actions, want)
	}
	audit, _ := e.app.Audit(ctx, app.Operator, parley.AuditQuery{TargetID: m.UserID})
	if len(audit) != 3 {
		t.Fatalf("audit %+v", audit)
	}
}
