package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func testModeration(t *testing.T, open Opener) {
	t.Run("blocks", func(t *testing.T) { moderationBlocks(t, open) })
	t.Run("rules and posting state", func(t *testing.T) { moderationRulesAndPostingState(t, open) })
	t.Run("bans", func(t *testing.T) { moderationBans(t, open) })
	t.Run("reports", func(t *testing.T) { reportQueue(t, open) })
	t.Run("audit filters", func(t *testing.T) { auditFilters(t, open) })
	t.Run("stats counters", func(t *testing.T) { statsCounters(t, open) })
	t.Run("response times at append", func(t *testing.T) { responseTimesAtAppend(t, open) })
}

// moderationBlocks: blocking is idempotent and keeps the first time;
// BlockPeers sees both directions; unblocking a non-block is not_found; a
// direct conversation's posting state says blocked either way.
func moderationBlocks(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "bl", 4)
	if err := s.BlockUser(ctx, u[0], u[1], baseTime); err != nil {
		t.Fatal(err)
	}
	if err := s.BlockUser(ctx, u[0], u[1], baseTime.Add(time.Hour)); err != nil {
		t.Fatalf("block again: %v", err)
	}
	if err := s.BlockUser(ctx, u[2], u[0], baseTime.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.BlockUser(ctx, u[0], parley.NewID(), baseTime), parley.CodeNotFound)
	bs, err := s.Blocks(ctx, u[0])
	if err != nil || len(bs) != 1 || bs[0].UserID != u[1] || !bs[0].CreatedAt.Equal(baseTime) {
		t.Fatalf("blocks %v %v", bs, err)
	}
	peers, err := s.BlockPeers(ctx, u[0])
	slices.Sort(peers)
	want := []string{u[1], u[2]}
	slices.Sort(want)
	if err != nil || !reflect.DeepEqual(peers, want) {
		t.Fatalf("peers %v, want %v (%v)", peers, want, err)
	}
	if p, _ := s.BlockPeers(ctx, u[3]); len(p) != 0 {
		t.Fatalf("peers of a stranger %v", p)
	}
	// Direct conversations: blocked either way; a group is never "blocked".
	d := newConversation(t, s, parley.KindDirect, "", u[1], u[0])
	for _, who := range []string{u[0], u[1]} {
		st, err := s.PostingState(ctx, d.ID, who)
		if err != nil || !st.Blocked || st.Kind != parley.KindDirect || st.Role != parley.RoleMember {
			t.Fatalf("posting state of %s: %+v %v", who, st, err)
		}
	}
	g := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	if st, err := s.PostingState(ctx, g.ID, u[1]); err != nil || st.Blocked {
		t.Fatalf("group posting state %+v %v", st, err)
	}
	wantCode(t, s.UnblockUser(ctx, u[1], u[0]), parley.CodeNotFound)
	if err := s.UnblockUser(ctx, u[0], u[1]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UnblockUser(ctx, u[0], u[1]), parley.CodeNotFound)
	if st, _ := s.PostingState(ctx, d.ID, u[1]); st.Blocked {
		t.Fatal("still blocked after unblock")
	}
	if bs, _ := s.Blocks(ctx, u[0]); len(bs) != 0 {
		t.Fatalf("blocks after unblock %v", bs)
	}
}

// moderationRulesAndPostingState: rules round-trip (absent: the normalized
// zero rules; "" is the server's); mutes and the slow-mode clock are per
// member; PostingState of an unknown conversation is not_found.
func moderationRulesAndPostingState(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ru", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	r, err := s.ConversationRules(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(r, parley.ConversationRules{}.Normalize()) {
		t.Fatalf("default rules %+v %v", r, err)
	}
	set := parley.ConversationRules{SlowModeSeconds: 30, ReadOnly: true, MaxMessageChars: 100, NoLinks: true,
		NoAttachments: true, DenyWords: []string{"spam"}, DenyPatterns: []string{`buy\s+now`}, DenyAction: parley.DenyMask}
	if err := s.SetConversationRules(ctx, c.ID, set); err != nil {
		t.Fatal(err)
	}
	server := parley.ConversationRules{DenyWords: []string{"evil"}}
	if err := s.SetConversationRules(ctx, "", server); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ConversationRules(ctx, c.ID); !reflect.DeepEqual(r, set) {
		t.Fatalf("rules %+v, want %+v", r, set)
	}
	if r, _ := s.ConversationRules(ctx, ""); !reflect.DeepEqual(r, server.Normalize()) {
		t.Fatalf("server rules %+v", r)
	}
	until := baseTime.Add(time.Hour)
	if err := s.SetMutedUntil(ctx, c.ID, u[1], until); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchPost(ctx, c.ID, u[1], baseTime.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchPost(ctx, c.ID, u[1], baseTime); err != nil { // earlier: ignored
		t.Fatal(err)
	}
	st, err := s.PostingState(ctx, c.ID, u[1])
	if err != nil || !st.MutedUntil.Equal(until) || !st.LastPostAt.Equal(baseTime.Add(time.Minute)) ||
		!reflect.DeepEqual(st.Rules, set) || st.Kind != parley.KindGroup {
		t.Fatalf("posting state %+v %v", st, err)
	}
	if st, _ := s.PostingState(ctx, c.ID, u[0]); !st.MutedUntil.IsZero() || !st.LastPostAt.IsZero() || st.Role != parley.RoleOwner {
		t.Fatalf("other member's state %+v", st)
	}
	if err := s.SetMutedUntil(ctx, c.ID, u[1], time.Time{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.PostingState(ctx, c.ID, u[1]); !st.MutedUntil.IsZero() || st.LastPostAt.IsZero() {
		t.Fatalf("after unmute %+v", st)
	}
	if st, err := s.PostingState(ctx, c.ID, parley.NewID()); err != nil || st.Role != "" {
		t.Fatalf("a non-member's role %q %v", st.Role, err)
	}
	_, err = s.PostingState(ctx, parley.NewID(), u[0])
	wantCode(t, err, parley.CodeNotFound)
}

// moderationBans: a ban is replaced by a second one; Banned filters a list;
// unbanning twice is not_found.
func moderationBans(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ba", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	b := parley.Ban{ConversationID: c.ID, UserID: u[1], ActorID: u[0], Reason: "spam", CreatedAt: baseTime}
	if err := s.BanUser(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Reason = "more spam"
	if err := s.BanUser(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.BanUser(ctx, parley.Ban{ConversationID: c.ID, UserID: u[2], ActorID: u[0], CreatedAt: baseTime.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	bans, err := s.Bans(ctx, c.ID)
	if err != nil || len(bans) != 2 || !reflect.DeepEqual(bans[0], b) || bans[1].UserID != u[2] {
		t.Fatalf("bans %+v %v", bans, err)
	}
	got, err := s.Banned(ctx, c.ID, []string{u[0], u[1], parley.NewID()})
	if err != nil || !reflect.DeepEqual(got, []string{u[1]}) {
		t.Fatalf("banned %v %v", got, err)
	}
	if got, _ := s.Banned(ctx, c.ID, nil); len(got) != 0 {
		t.Fatalf("banned of none %v", got)
	}
	if err := s.UnbanUser(ctx, c.ID, u[1]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UnbanUser(ctx, c.ID, u[1]), parley.CodeNotFound)
	if got, _ := s.Banned(ctx, c.ID, []string{u[1], u[2]}); !reflect.DeepEqual(got, []string{u[2]}) {
		t.Fatalf("banned after unban %v", got)
	}
}

// auditFilters: the audit log filters by target, actor, conversation,
// action (exact or a prefix ending in '.'), time range and cursor; every
// field including conversation_id round-trips.
func auditFilters(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	actor, target, conv := parley.NewID(), parley.NewID(), parley.NewID()
	var ids []string
	add := func(i int, action, actorID, convID string) {
		e := parley.AuditEntry{ID: parley.NewID(), At: baseTime.Add(time.Duration(i) * time.Minute), ActorID: actorID, Actor: "a",
			Action: action, TargetID: target, Target: "t", Detail: "d", ConversationID: convID}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
		time.Sleep(2 * time.Millisecond)
	}
	add(0, "user.disable", actor, "")
	add(1, "conversation.mute", actor, conv)
	add(2, "conversation.ban", "", conv)
	add(3, "conversationx.other", actor, "")
	add(4, "report.ban", actor, conv)
	get := func(q parley.AuditQuery) []string {
		t.Helper()
		q.Limit = 10
		es, err := s.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	want := func(name string, got []string, idx ...int) {
		t.Helper()
		var w []string
		for _, i := range idx {
			w = append(w, ids[i])
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: got %v, want %v", name, got, w)
		}
	}
	want("all", get(parley.AuditQuery{}), 4, 3, 2, 1, 0)
	want("prefix", get(parley.AuditQuery{Action: "conversation."}), 2, 1)
	want("exact", get(parley.AuditQuery{Action: "conversation.ban"}), 2)
	want("actor", get(parley.AuditQuery{ActorID: actor, Action: "conversation."}), 1)
	want("conversation", get(parley.AuditQuery{ConversationID: conv}), 4, 2, 1)
	want("since/until", get(parley.AuditQuery{Since: baseTime.Add(time.Minute), Until: baseTime.Add(3 * time.Minute)}), 2, 1)
	want("before", get(parley.AuditQuery{ConversationID: conv, Before: ids[2]}), 1)
	want("target", get(parley.AuditQuery{TargetID: parley.NewID()}))
	es, _ := s.Audit(ctx, parley.AuditQuery{Action: "report.ban", Limit: 1})
	if len(es) != 1 || es[0].ConversationID != conv || es[0].ActorID != actor || !es[0].At.Equal(baseTime.Add(4*time.Minute)) {
		t.Fatalf("entry %+v", es)
	}
}

// statsCounters: AddStats adds to existing counters (as many nodes do) and
// StatsRows returns the rows of the hour range only.
func statsCounters(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	c, u, v := parley.NewID(), parley.NewID(), parley.NewID()
	d := []parley.StatsDelta{{ConversationID: c, Hour: 100, UserID: u, Messages: 2, Responses: 1, ResponseMillis: 1500},
		{ConversationID: c, Hour: 100, UserID: v, Reactions: 1},
		{ConversationID: c, Hour: 101, UserID: u, Messages: 1}, {ConversationID: parley.NewID(), Hour: 100, UserID: u, Messages: 9}}
	r := []parley.ResponseDelta{{ConversationID: c, Hour: 100, Bucket: 2, Count: 1}, {ConversationID: c, Hour: 100, Bucket: 0, Count: 3},
		{ConversationID: c, Hour: 102, Bucket: 2, Count: 5}, {ConversationID: parley.NewID(), Hour: 100, Bucket: 2, Count: 7}}
	for range 2 {
		if err := s.AddStats(ctx, d, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddStats(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddStats(ctx, nil, r[:1]); err != nil { // histogram only
		t.Fatal(err)
	}
	hist, err := s.ResponseRows(ctx, c, 100, 102)
	if err != nil {
		t.Fatal(err)
	}
	gotHist := map[int]parley.ResponseRow{}
	for _, h := range hist {
		gotHist[h.Bucket] = h
	}
	if len(hist) != 2 || gotHist[2] != (parley.ResponseRow{Hour: 100, Bucket: 2, Count: 3}) || gotHist[0] != (parley.ResponseRow{Hour: 100, Bucket: 0, Count: 6}) {
		t.Fatalf("response rows %+v", hist)
	}
	if hist, _ := s.ResponseRows(ctx, c, 0, 1000); len(hist) != 3 {
		t.Fatalf("all response rows %+v", hist)
	}
	if hist, err := s.ResponseRows(ctx, parley.NewID(), 0, 1000); err != nil || hist == nil || len(hist) != 0 {
		t.Fatalf("unknown conversation: %+v %v", hist, err)
	}
	rows, err := s.StatsRows(ctx, c, 100, 101)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]parley.StatsRow{}
	for _, r := range rows {
		got[r.UserID] = r
	}
	if len(rows) != 2 || got[u] != (parley.StatsRow{Hour: 100, UserID: u, Messages: 4, Responses: 2, ResponseMillis: 3000}) || got[v] != (parley.StatsRow{Hour: 100, UserID: v, Reactions: 2}) {
		t.Fatalf("rows %+v", rows)
	}
	if rows, _ := s.StatsRows(ctx, c, 0, 1000); len(rows) != 3 {
		t.Fatalf("all rows %+v", rows)
	}
}

// responseTimesAtAppend: the append transaction marks a user message whose
// sender differs from the previous user message's as a response, with the
// gap as its response time, when the gap is at most 24 h; system messages,
// refused appends and resends change nothing; the previous message
// survives a batch boundary and other conversations' appends.
func responseTimesAtAppend(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "rt", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	other := newConversation(t, s, parley.KindGroup, "o", u[0], u[1])
	at := baseTime.Add(time.Hour)
	send := func(conv, sender, client string, after time.Duration, check parley.AppendCheck) (parley.Message, error) {
		at = at.Add(after)
		m := userMsg(conv, sender, client, "x")
		m.CreatedAt = at
		var hooked parley.Message
		got, _, err := s.AppendMessage(ctx, m, check, func(m parley.Message) { hooked = m })
		if err == nil && hooked.ID != "" {
			if g1, ok1 := got.ResponseGap(); true {
				if g2, ok2 := hooked.ResponseGap(); g1 != g2 || ok1 != ok2 {
					t.Fatalf("returned %v %v, hook %v %v", g1, ok1, g2, ok2)
				}
			}
		}
		return got, err
	}
	want := func(step string, m parley.Message, err error, gap time.Duration, ok bool) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if g, isResp := m.ResponseGap(); isResp != ok || g != gap {
			t.Fatalf("%s: response %v %v, want %v %v", step, g, isResp, gap, ok)
		}
	}
	m, err := send(c.ID, u[0], "a1", 0, parley.CheckMember)
	want("first", m, err, 0, false)
	m, err = send(c.ID, u[0], "a2", time.Minute, parley.CheckMember)
	want("same sender", m, err, 0, false)
	m, err = send(other.ID, u[1], "o1", time.Second, parley.CheckMember)
	want("other conversation", m, err, 0, false)
	m, err = send(c.ID, u[1], "b1", 2*time.Minute, parley.CheckMember)
	want("reply", m, err, 2*time.Minute+time.Second, true)
	// A system message is not a message of the rule.
	sys := systemMsg(u[0], parley.SystemConversationUp)
	sys.ConversationID, sys.CreatedAt = c.ID, at.Add(time.Second)
	if _, _, err := s.AppendMessage(ctx, sys, parley.CheckNone, nil); err != nil {
		t.Fatal(err)
	}
	// A refused append moves nothing.
	_, err = send(c.ID, u[2], "x1", 5*time.Second, parley.CheckMember)
	wantCode(t, err, parley.CodeNotFound)
	m, err = send(c.ID, u[0], "a3", 25*time.Second, parley.CheckMember)
	want("reply after a system message", m, err, 30*time.Second, true)
	// A resend is not counted again.
	again := userMsg(c.ID, u[0], "a3", "x")
	again.CreatedAt = at.Add(time.Minute)
	m, created, err := s.AppendMessage(ctx, again, parley.CheckMember, nil)
	if created {
		t.Fatal("resend created")
	}
	want("resend", m, err, 0, false)
	m, err = send(c.ID, u[1], "b2", 25*time.Hour, parley.CheckMember)
	want("after a day's silence", m, err, 0, false)
	m, err = send(c.ID, u[0], "a4", 24*time.Hour, parley.CheckMember)
	want("exactly 24 h", m, err, 24*time.Hour, true)
	m, err = send(c.ID, u[1], "b3", 0, parley.CheckMember)
	want("same millisecond", m, err, 0, true)
}
