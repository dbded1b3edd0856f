package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestBlocksOverREST: blocking through the SDK stops direct messages both
// ways and invitations, with the documented errors; bad ids are refused.
func TestBlocksOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	blk := must[parley.Block](t)(alice.Block(ctx, b.ID))
	if blk.UserID != b.ID {
		t.Fatalf("block %+v", blk)
	}
	_, _, err = bob.Send(ctx, dm.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "hi"})
	wantAPIError(t, err, parley.CodeForbidden, "conversation_id", "blocked")
	_, _, err = alice.Send(ctx, dm.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "hi"})
	wantAPIError(t, err, parley.CodeForbidden, "conversation_id", "blocked")
	_, _, err = bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "t", MemberIDs: []string{a.ID}})
	wantAPIError(t, err, parley.CodeForbidden, "member_ids", "blocked")
	_, err = bob.RequestContact(ctx, a.ID)
	wantAPIError(t, err, parley.CodeForbidden, "user_id", "blocked")
	if bs := must[[]parley.Block](t)(alice.Blocks(ctx)); len(bs) != 1 || bs[0].UserID != b.ID {
		t.Fatalf("blocks %+v", bs)
	}
	if bs := must[[]parley.Block](t)(bob.Blocks(ctx)); len(bs) != 0 {
		t.Fatalf("bob's blocks %+v", bs)
	}
	// Bad input.
	_, err = alice.Block(ctx, a.ID)
	wantAPIError(t, err, parley.CodeInvalid, "user_id", "")
	_, err = alice.Block(ctx, "not-an-id")
	wantAPIError(t, err, parley.CodeInvalid, "user_id", "")
	_, err = alice.Block(ctx, parley.NewID())
	wantAPIError(t, err, parley.CodeNotFound, "user_id", "")
	wantAPIError(t, bob.Unblock(ctx, a.ID), parley.CodeNotFound, "user_id", "")
	if err := alice.Unblock(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.Send(ctx, dm.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "hi again"}); err != nil {
		t.Fatal(err)
	}
}

// TestModerationOverREST drives mute, kick, ban, rules and the server deny
// list through the SDK, with the bad forms of each request.
func TestModerationOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	root, _ := env.NewAdmin(t, "root")
	owner, ou := env.NewUser(t, "owner")
	mem, m := env.NewUser(t, "member")
	out, o := env.NewUser(t, "outsider")
	g := group(t, owner, m)
	other := group(t, out)
	until := must[time.Time](t)(owner.Mute(ctx, g.ID, m.ID, time.Minute, "calm down"))
	if time.Until(until) < 50*time.Second {
		t.Fatalf("muted until %v", until)
	}
	_, _, err := mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "x"})
	wantAPIError(t, err, parley.CodeForbidden, "conversation_id", "muted")
	if err := owner.Unmute(ctx, g.ID, m.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Slow mode: 429 with Retry-After.
	if _, err := owner.SetRules(ctx, g.ID, parley.ConversationRules{SlowModeSeconds: 60, DenyWords: []string{"darn"},
		DenyAction: parley.DenyMask}); err != nil {
		t.Fatal(err)
	}
	msg, _, err := mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "oh darn"})
	if err != nil || msg.Body != "oh ****" {
		t.Fatalf("masked %q %v", msg.Body, err)
	}
	_, _, err = mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "again"})
	if e := parley.AsError(err); e == nil || e.Code != parley.CodeRateLimited || e.RetryAfter < 50*time.Second {
		t.Fatalf("slow mode: %v", err)
	}
	if r := must[parley.ConversationRules](t)(mem.Rules(ctx, g.ID)); r.SlowModeSeconds != 60 {
		t.Fatalf("rules %+v", r)
	}
	// Ban and unban.
	if _, err := owner.Ban(ctx, g.ID, m.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	_, err = owner.AddMembers(ctx, g.ID, m.ID)
	wantAPIError(t, err, parley.CodeForbidden, "user_ids", "banned")
	if bans := must[[]parley.Ban](t)(owner.Bans(ctx, g.ID)); len(bans) != 1 || bans[0].Reason != "spam" {
		t.Fatalf("bans %+v", bans)
	}
	if err := owner.Unban(ctx, g.ID, m.ID, "ok"); err != nil {
		t.Fatal(err)
	}
	must[[]parley.Member](t)(owner.AddMembers(ctx, g.ID, m.ID))
	if err := owner.Kick(ctx, g.ID, m.ID, "bye"); err != nil {
		t.Fatal(err)
	}
	// Bad input: too long reason, unknown ids, someone else's conversation,
	// non-admin, wrong types, unknown fields.
	long := strings.Repeat("r", parley.MaxModReasonChars+1)
	_, err = owner.Ban(ctx, g.ID, o.ID, long)
	wantAPIError(t, err, parley.CodeTooLarge, "reason", "")
	_, err = owner.Ban(ctx, g.ID, parley.NewID(), "")
	wantAPIError(t, err, parley.CodeNotFound, "user_id", "")
	_, err = owner.Mute(ctx, g.ID, m.ID, time.Minute, "") // kicked: not a member
	wantAPIError(t, err, parley.CodeNotFound, "user_id", "")
	_, err = owner.Mute(ctx, other.ID, o.ID, time.Minute, "")
	wantAPIError(t, err, parley.CodeNotFound, "", "")
	_, err = owner.Mute(ctx, parley.NewID(), o.ID, time.Minute, "")
	wantAPIError(t, err, parley.CodeNotFound, "", "")
	_, err = owner.Mute(ctx, g.ID, o.ID, 0, "")
	wantAPIError(t, err, parley.CodeInvalid, "duration_seconds", "")
	_, err = owner.SetRules(ctx, g.ID, parley.ConversationRules{DenyPatterns: []string{"a(b"}})
	wantAPIError(t, err, parley.CodeInvalid, "deny_patterns", "")
	_, err = owner.SetRules(ctx, g.ID, parley.ConversationRules{DenyWords: make([]string, parley.MaxDenyWords+1)})
	wantAPIError(t, err, parley.CodeTooLarge, "deny_words", "")
	_, err = owner.SetServerContentRules(ctx, parley.ConversationRules{DenyWords: []string{"x"}})
	wantAPIError(t, err, parley.CodeForbidden, "", "")
	for _, bad := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/conversations/" + g.ID + "/moderation/mute", `{"user_id":"` + o.ID + `","duration_seconds":"60"}`, "duration_seconds"},
		{"POST", "/api/v1/conversations/" + g.ID + "/moderation/kick", `{"user_id":"` + o.ID + `","duration_seconds":5}`, "duration_seconds"},
		{"POST", "/api/v1/conversations/" + g.ID + "/bans", `{"user_id":"` + o.ID + `","why":"x"}`, "why"},
		{"PUT", "/api/v1/conversations/" + g.ID + "/rules", `{"slow_mode_seconds":true}`, "slow_mode_seconds"},
		{"PUT", "/api/v1/conversations/" + g.ID + "/rules", `{"deny_action":"explode"}`, "deny_action"},
	} {
		st, body, _ := adminCall(t, env, bad.method, bad.path, owner.Token(), bad.body)
		if st != 400 || adminErrCode(body) != "invalid" || body["error"].(map[string]any)["field"] != bad.field {
			t.Errorf("%s %s %s: %d %v, want 400 invalid naming %s", bad.method, bad.path, bad.body, st, body, bad.field)
		}
	}
	// The server-wide deny list applies in every conversation.
	if _, err := root.SetServerContentRules(ctx, parley.ConversationRules{DenyPatterns: []string{`fr[e3]{2}\s*money`}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = out.Send(ctx, other.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "FREE money"})
	wantAPIError(t, err, parley.CodeForbidden, "body", "")
	// Every moderation action is in the audit log.
	entries, _, err := root.Audit(ctx, m.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "conversation.kick conversation.unban conversation.ban conversation.unmute conversation.mute" {
		t.Fatalf("audit %v", actions)
	}
	// Filters: conversation, action prefix, actor, time; bad forms.
	bans, _, err := root.AuditQuery(ctx, parley.AuditQuery{ConversationID: g.ID, Action: "conversation.ban"})
	if err != nil || len(bans) != 1 || bans[0].TargetID != m.ID || bans[0].ConversationID != g.ID || !strings.Contains(bans[0].Detail, "spam") {
		t.Fatalf("bans in the audit %+v %v", bans, err)
	}
	inConv, _, err := root.AuditQuery(ctx, parley.AuditQuery{ConversationID: g.ID, Action: "conversation.", ActorID: ou.ID})
	if err != nil || len(inConv) != 6 { // mute, unmute, rules, ban, unban, kick
		t.Fatalf("conversation's audit %d %v", len(inConv), err)
	}
	if later, _, err := root.AuditQuery(ctx, parley.AuditQuery{ConversationID: g.ID, Since: time.Now().Add(time.Hour)}); err != nil || len(later) != 0 {
		t.Fatalf("since: %v %v", later, err)
	}
	for _, bad := range []struct{ query, field string }{{"since=yesterday", "since"}, {"actor_id=x", "actor_id"},
		{"conversation_id=nope", "conversation_id"}, {"action=" + strings.Repeat("a", 65), "action"}} {
		st, body, _ := adminCall(t, env, "GET", "/api/v1/admin/audit?"+bad.query, root.Token(), "")
		if st/100 != 4 || body["error"].(map[string]any)["field"] != bad.field {
			t.Errorf("audit?%s: %d %v", bad.query, st, body)
		}
	}
	_, _, err = owner.AuditQuery(ctx, parley.AuditQuery{ConversationID: g.ID})
	wantAPIError(t, err, parley.CodeForbidden, "", "")
}

func wantAPIError(t *testing.T, err error, code parley.Code, field, msg string) {
	t.Helper()
	e := parley.AsError(err)
	if e == nil {
		t.Fatalf("no error, want %s field %q", code, field)
	}
	if e.Code != code || e.Field != field || !strings.Contains(e.Message, msg) {
		t.Fatalf("got %v (field %q), want %s field %q containing %q", err, e.Field, code, field, msg)
	}
}

// TestReportsOverREST: a member reports a message; the owner sees it in the
// conversation's queue and deletes the message through it; the reporter
// sees the outcome; the bad forms are refused.
func TestReportsOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	root, _ := env.NewAdmin(t, "root")
	owner, _ := env.NewUser(t, "owner")
	mem, m := env.NewUser(t, "member")
	rep, r := env.NewUser(t, "reporter")
	g := group(t, owner, m, r)
	msg, _, err := mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "cheap pills"})
	if err != nil {
		t.Fatal(err)
	}
	filed := must[parley.Report](t)(rep.ReportMessage(ctx, g.ID, msg.Seq, "spam"))
	must[parley.Report](t)(rep.ReportUser(ctx, m.ID, "spams everywhere"))
	q, _, err := owner.Reports(ctx, client.ReportsQuery{ConversationID: g.ID, Status: parley.ReportOpen})
	if err != nil || len(q) != 1 || q[0].ID != filed.ID || q[0].Excerpt != "cheap pills" {
		t.Fatalf("queue %+v %v", q, err)
	}
	all, _, err := root.Reports(ctx, client.ReportsQuery{Limit: 1})
	if err != nil || len(all) != 1 {
		t.Fatalf("admin queue %+v %v", all, err)
	}
	_, _, err = owner.Reports(ctx, client.ReportsQuery{})
	wantAPIError(t, err, parley.CodeForbidden, "", "")
	// Bad forms.
	_, err = rep.ReportMessage(ctx, g.ID, msg.Seq, "")
	wantAPIError(t, err, parley.CodeInvalid, "reason", "")
	_, err = rep.ReportMessage(ctx, g.ID, msg.Seq, strings.Repeat("x", parley.MaxReportReasonChars+1))
	wantAPIError(t, err, parley.CodeTooLarge, "reason", "")
	_, err = rep.ReportMessage(ctx, parley.NewID(), 1, "x")
	wantAPIError(t, err, parley.CodeNotFound, "", "")
	_, err = rep.ReportUser(ctx, parley.NewID(), "x")
	wantAPIError(t, err, parley.CodeNotFound, "user_id", "")
	_, err = owner.ResolveReport(ctx, filed.ID, "explode", 0, "")
	wantAPIError(t, err, parley.CodeInvalid, "action", "")
	_, err = mem.ResolveReport(ctx, filed.ID, parley.ReportDismiss, 0, "")
	wantAPIError(t, err, parley.CodeNotFound, "", "")
	_, err = owner.ResolveReport(ctx, filed.ID, parley.ReportMute, 0, "")
	wantAPIError(t, err, parley.CodeInvalid, "duration_seconds", "")
	st, body, _ := adminCall(t, env, "POST", "/api/v1/reports/"+filed.ID+"/resolve", owner.Token(), `{"action":"dismiss","note":5}`)
	if st != 400 || adminErrCode(body) != "invalid" {
		t.Fatalf("wrong type: %d %v", st, body)
	}
	// Resolve: the message goes, the reporter sees the outcome.
	done := must[parley.Report](t)(owner.ResolveReport(ctx, filed.ID, parley.ReportDeleteMessage, 0, "thanks"))
	if done.Status != parley.ReportResolved || done.Action != parley.ReportDeleteMessage {
		t.Fatalf("resolved %+v", done)
	}
	if got := must[parley.Message](t)(owner.Message(ctx, g.ID, msg.Seq)); !got.Deleted {
		t.Fatal("message not deleted")
	}
	_, err = owner.ResolveReport(ctx, filed.ID, parley.ReportDismiss, 0, "")
	wantAPIError(t, err, parley.CodeConflict, "id", "")
	mine := must[[]parley.Report](t)(rep.MyReports(ctx))
	if len(mine) != 2 || mine[1].Status != parley.ReportResolved || mine[1].Note != "thanks" || mine[1].ResolvedBy != "" {
		t.Fatalf("my reports %+v", mine)
	}
	// Flood: at most 20 open reports each.
	var ferr error
	for i := 0; i < parley.MaxOpenReports && ferr == nil; i++ {
		_, ferr = rep.ReportUser(ctx, m.ID, "again")
	}
	if e := parley.AsError(ferr); e == nil || e.Code != parley.CodeRateLimited {
		t.Fatalf("report flood: %v", ferr)
	}
}

// TestAnalyticsOverREST: the owner reads the counts of what was just sent;
// members may not; bad ranges are refused.
func TestAnalyticsOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	root, _ := env.NewAdmin(t, "root")
	owner, _ := env.NewUser(t, "owner")
	mem, m := env.NewUser(t, "member")
	g := group(t, owner, m)
	for i := range 3 {
		msg, _, err := mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := owner.React(ctx, g.ID, msg.Seq, "🎉"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The owner answers: one response, through the SDK with its times.
	if _, _, err := owner.Send(ctx, g.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "answer"}); err != nil {
		t.Fatal(err)
	}
	st := must[parley.ConversationStats](t)(owner.ConversationStats(ctx, g.ID, 1))
	if st.Messages != 4 || st.Reactions != 1 || st.ActiveMembers != 2 || len(st.Hourly) != 24 || len(st.Daily) != 1 ||
		len(st.TopPosters) != 2 || st.TopPosters[0].UserID != m.ID {
		t.Fatalf("stats %+v", st)
	}
	if st.ResponseTime.Responses != 1 || st.ResponseTime.MedianMS == 0 || len(st.TopResponders) != 1 ||
		st.TopResponders[0].UserID == m.ID || st.TopResponders[0].Responses != 1 || st.Daily[0].Responses != 1 {
		t.Fatalf("response times %+v %+v", st.ResponseTime, st.TopResponders)
	}
	if st := must[parley.ConversationStats](t)(root.ConversationStats(ctx, g.ID, 0)); st.Messages != 4 || len(st.Daily) != 30 {
		t.Fatalf("admin's stats %+v", st)
	}
	_, err := mem.ConversationStats(ctx, g.ID, 1)
	wantAPIError(t, err, parley.CodeForbidden, "", "")
	_, err = owner.ConversationStats(ctx, parley.NewID(), 1)
	wantAPIError(t, err, parley.CodeNotFound, "", "")
	for _, q := range []string{"days=-1", "days=367", "days=x"} {
		st, body, _ := adminCall(t, env, "GET", "/api/v1/conversations/"+g.ID+"/stats?"+q, owner.Token(), "")
		if st != 400 || body["error"].(map[string]any)["field"] != "days" {
			t.Errorf("stats?%s: %d %v", q, st, body)
		}
	}
}

// TestModerationOverWebSocket: the socket's send goes through the same
// rules: a muted member's send, a deny-listed word and a blocked direct
// message come back as error frames with the REST codes.
func TestModerationOverWebSocket(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	owner, o := env.NewUser(t, "owner")
	mem, m := env.NewUser(t, "member")
	g := group(t, owner, m)
	dm, _, err := mem.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{o.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := mem.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := owner.Mute(ctx, g.ID, m.ID, time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	_, err = rt.SendMessage(ctx, g.ID, parley.NewID(), "hello")
	wantAPIError(t, err, parley.CodeForbidden, "conversation_id", "muted")
	if err := owner.Unmute(ctx, g.ID, m.ID, ""); err != nil {
		t.Fatal(err)
	}
	// (Slow mode's rate_limited is retried by the SDK after retry_after, so
	// it is tested over REST.) A deny list refuses over the socket too.
	if _, err := owner.SetRules(ctx, g.ID, parley.ConversationRules{DenyWords: []string{"darn"}}); err != nil {
		t.Fatal(err)
	}
	_, err = rt.SendMessage(ctx, g.ID, parley.NewID(), "darn it")
	wantAPIError(t, err, parley.CodeForbidden, "body", "")
	if _, err := owner.Block(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = rt.SendMessage(ctx, dm.ID, parley.NewID(), "hi")
	wantAPIError(t, err, parley.CodeForbidden, "conversation_id", "blocked")
}

// TestHeldMessageOverREST: a deny list with action hold stops a message
// (403 naming body, "held for review"); the owner approves it from the
// queue and it is posted in the sender's name.
func TestHeldMessageOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	owner, _ := env.NewUser(t, "owner")
	mem, m := env.NewUser(t, "member")
	g := group(t, owner, m)
	if _, err := owner.SetRules(ctx, g.ID, parley.ConversationRules{DenyPatterns: []string{`\bcrypto\b`}, DenyAction: parley.DenyHold}); err != nil {
		t.Fatal(err)
	}
	_, _, err := mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "h1", Body: "crypto tips"})
	wantAPIError(t, err, parley.CodeForbidden, "body", "held for review")
	q, _, err := owner.Reports(ctx, client.ReportsQuery{ConversationID: g.ID, Status: parley.ReportOpen})
	if err != nil || len(q) != 1 || !q[0].Held || q[0].ClientMsgID != "h1" {
		t.Fatalf("queue %+v %v", q, err)
	}
	if _, err := owner.ResolveReport(ctx, q[0].ID, parley.ReportApprove, 0, ""); err != nil {
		t.Fatal(err)
	}
	// The sender's resend now finds the posted message.
	msg, created, err := mem.Send(ctx, g.ID, client.SendRequest{ClientMsgID: "h1", Body: "crypto tips"})
	if err != nil || created || msg.Body != "crypto tips" || msg.SenderID != m.ID {
		t.Fatalf("after approval %+v %v %v", msg, created, err)
	}
}
