package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func testNotify(t *testing.T, open Opener) {
	t.Run("settings", func(t *testing.T) { notifySettings(t, open) })
	t.Run("targets", func(t *testing.T) { notifyTargets(t, open) })
	t.Run("cursor and backlog", func(t *testing.T) { notifyCursorAndBacklog(t, open) })
	t.Run("entries collapse per conversation", func(t *testing.T) { notifyCollapse(t, open) })
	t.Run("claim lease retry finish", func(t *testing.T) { notifyClaimLease(t, open) })
	t.Run("concurrent claims never share an entry", func(t *testing.T) { notifyConcurrentClaims(t, open) })
	t.Run("concurrent advances enqueue once", func(t *testing.T) { notifyConcurrentAdvance(t, open) })
}

// notifySettings: defaults, round trips, unknown users and non-members,
// and a member's settings leave with them.
func notifySettings(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ns", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	if p, err := s.NotifyPrefs(ctx, u[0]); err != nil || p.Level != parley.NotifyAll || p.QuietHours != nil || p.Previews {
		t.Fatalf("default prefs %+v %v", p, err)
	}
	_, err := s.NotifyPrefs(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	wantCode(t, s.SetNotifyPrefs(ctx, parley.NewID(), parley.DefaultNotifyPrefs()), parley.CodeNotFound)
	want := parley.NotifyPrefs{Level: parley.NotifyMentions, QuietHours: &parley.QuietHours{Start: "22:00", End: "07:30"},
		TimeZone: "Europe/Paris", Previews: true}
	if err := s.SetNotifyPrefs(ctx, u[0], want); err != nil {
		t.Fatal(err)
	}
	if p, err := s.NotifyPrefs(ctx, u[0]); err != nil || p.Level != want.Level || p.QuietHours == nil ||
		*p.QuietHours != *want.QuietHours || p.TimeZone != want.TimeZone || !p.Previews {
		t.Fatalf("prefs %+v %v", p, err)
	}
	want.QuietHours, want.Previews = nil, false
	if err := s.SetNotifyPrefs(ctx, u[0], want); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.NotifyPrefs(ctx, u[0]); p.QuietHours != nil || p.Previews {
		t.Fatalf("prefs after clearing %+v", p)
	}

	if cn, err := s.ConversationNotify(ctx, c.ID, u[1]); err != nil || cn.MutedUntil != nil || cn.MentionsOnly {
		t.Fatalf("default conversation setting %+v %v", cn, err)
	}
	_, err = s.ConversationNotify(ctx, c.ID, u[2])
	wantCode(t, err, parley.CodeNotFound)
	wantCode(t, s.SetConversationNotify(ctx, c.ID, u[2], parley.ConversationNotify{MentionsOnly: true}), parley.CodeNotFound)
	wantCode(t, s.SetConversationNotify(ctx, parley.NewID(), u[1], parley.ConversationNotify{}), parley.CodeNotFound)
	until := baseTime.Add(time.Hour)
	if err := s.SetConversationNotify(ctx, c.ID, u[1], parley.ConversationNotify{MutedUntil: &until, MentionsOnly: true}); err != nil {
		t.Fatal(err)
	}
	if cn, err := s.ConversationNotify(ctx, c.ID, u[1]); err != nil || cn.MutedUntil == nil || !cn.MutedUntil.Equal(until) || !cn.MentionsOnly {
		t.Fatalf("conversation setting %+v %v", cn, err)
	}
	if _, err := s.RemoveMember(ctx, c.ID, u[1], systemMsg(u[1], parley.SystemMemberLeft, u[1]), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMembers(ctx, c.ID, []parley.Member{{UserID: u[1], Role: parley.RoleMember, JoinedAt: baseTime}},
		100, systemMsg(u[1], parley.SystemMembersAdded, u[1]), nil); err != nil {
		t.Fatal(err)
	}
	if cn, err := s.ConversationNotify(ctx, c.ID, u[1]); err != nil || cn.MutedUntil != nil || cn.MentionsOnly {
		t.Fatalf("a member who left and came back kept %+v %v", cn, err)
	}
}

// notifyTargets: every member with role, receipts and both settings.
func notifyTargets(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "nt", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	if err := s.SetNotifyPrefs(ctx, u[1], parley.NotifyPrefs{Level: parley.NotifyNone, TimeZone: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConversationNotify(ctx, c.ID, u[0], parley.ConversationNotify{MentionsOnly: true}); err != nil {
		t.Fatal(err)
	}
	ts, err := s.NotifyTargets(ctx, c.ID)
	if err != nil || len(ts) != 2 {
		t.Fatalf("targets %+v %v", ts, err)
	}
	by := map[string]parley.NotifyTarget{}
	for _, x := range ts {
		by[x.UserID] = x
	}
	if a := by[u[0]]; a.Role != parley.RoleOwner || !a.Conv.MentionsOnly || a.Prefs.Level != parley.NotifyAll {
		t.Fatalf("owner target %+v", a)
	}
	if b := by[u[1]]; b.Role != parley.RoleMember || b.Conv.MentionsOnly || b.Prefs.Level != parley.NotifyNone ||
		b.Prefs.TimeZone != "Asia/Tokyo" {
		t.Fatalf("member target %+v", b)
	}
	if ts, err := s.NotifyTargets(ctx, parley.NewID()); err != nil || len(ts) != 0 {
		t.Fatalf("targets of no conversation %+v %v", ts, err)
	}

	// Push: a Web Push subscription or a mobile device; Email: an address.
	if by[u[0]].Push || by[u[1]].Push || by[u[0]].Email || by[u[1]].Email {
		t.Fatalf("targets without push or email %+v", ts)
	}
	if _, err := s.AddPushSubscription(ctx, parley.PushSubscription{ID: parley.NewID(), UserID: u[0],
		Endpoint: "https://push.example/" + u[0], P256DH: "k", Auth: "a", CreatedAt: baseTime}, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPushDevice(ctx, parley.PushDevice{ID: parley.NewID(), UserID: u[1], Platform: parley.PlatformFCM,
		Token: "tok-" + u[1], CreatedAt: baseTime}, 5); err != nil {
		t.Fatal(err)
	}
	mail := parley.User{ID: parley.NewID(), Username: "ntmail", Email: "nt@example.com", Role: parley.UserRoleUser,
		CreatedAt: baseTime, UpdatedAt: baseTime}
	if err := s.CreateUser(ctx, mail, "x"); err != nil {
		t.Fatal(err)
	}
	c2 := newConversation(t, s, parley.KindGroup, "g2", u[0], u[1], u[2], mail.ID)
	ts, err = s.NotifyTargets(ctx, c2.ID)
	if err != nil || len(ts) != 4 {
		t.Fatalf("targets %+v %v", ts, err)
	}
	for _, x := range ts {
		wantPush, wantEmail := x.UserID == u[0] || x.UserID == u[1], x.UserID == mail.ID
		if x.Push != wantPush || x.Email != wantEmail {
			t.Fatalf("target %s: push %v email %v, want %v %v", x.UserID, x.Push, x.Email, wantPush, wantEmail)
		}
	}
}

func pushEntry(user string, seq int64, count int, reason parley.NotifyReason, at time.Time) parley.Notification {
	return parley.Notification{UserID: user, Channel: parley.ChannelPush, Seq: seq, Count: count, Reason: reason,
		NextAt: at, CreatedAt: at}
}

// notifyCursorAndBacklog: a new conversation is behind (its first message),
// advancing is a compare-and-set, and a stale advance writes nothing.
func notifyCursorAndBacklog(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "nc", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	cur, err := s.NotifyCursor(ctx, c.ID)
	if err != nil || cur.NotifiedSeq != 0 || cur.LastSeq != 1 {
		t.Fatalf("cursor %+v %v", cur, err)
	}
	_, err = s.NotifyCursor(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	if b, err := s.NotifyBacklog(ctx, 10); err != nil || len(b) != 1 || b[0].ConversationID != c.ID || b[0].LastSeq != 1 {
		t.Fatalf("backlog %+v %v", b, err)
	}
	if err := s.AdvanceNotify(ctx, c.ID, 0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := s.NotifyBacklog(ctx, 10); err != nil || len(b) != 0 {
		t.Fatalf("backlog after advance %+v %v", b, err)
	}
	if _, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], "k1", "hi"), parley.CheckMember, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.NotifyBacklog(ctx, 10); len(b) != 1 || b[0].NotifiedSeq != 1 || b[0].LastSeq != 2 {
		t.Fatalf("backlog after a message %+v", b)
	}
	now := baseTime
	wantCode(t, s.AdvanceNotify(ctx, c.ID, 0, 2, []parley.Notification{pushEntry(u[1], 2, 1, parley.ReasonMessage, now)}),
		parley.CodeConflict)
	if p, _ := s.PendingNotifications(ctx, u[1]); len(p) != 0 {
		t.Fatalf("a refused advance enqueued %+v", p)
	}
	wantCode(t, s.AdvanceNotify(ctx, parley.NewID(), 0, 1, nil), parley.CodeNotFound)
	if err := s.AdvanceNotify(ctx, c.ID, 1, 2, []parley.Notification{pushEntry(u[1], 2, 1, parley.ReasonMessage, now)}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.NotifyCursor(ctx, c.ID); cur.NotifiedSeq != 2 {
		t.Fatalf("cursor after advance %+v", cur)
	}
	p, _ := s.PendingNotifications(ctx, u[1])
	if len(p) != 1 || p[0].ConversationID != c.ID || p[0].Seq != 2 || p[0].Count != 1 || p[0].Rev != 1 ||
		p[0].Attempts != 0 || !p[0].NextAt.Equal(now) || p[0].ID == "" || p[0].Channel != parley.ChannelPush {
		t.Fatalf("pending %+v", p)
	}
}

// notifyCollapse: a newer message for the same user and conversation
// updates the pending entry; another conversation gets its own.
func notifyCollapse(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "nq", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	d := newConversation(t, s, parley.KindGroup, "h", u[0], u[1])
	now := baseTime
	if err := s.AdvanceNotify(ctx, c.ID, 0, 3, []parley.Notification{pushEntry(u[1], 3, 2, parley.ReasonMention, now)}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimNotifications(ctx, now, time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].Attempts != 1 {
		t.Fatalf("claim %+v %v", claimed, err)
	}
	if err := s.RetryNotification(ctx, claimed[0].ID, claimed[0].Rev, now.Add(time.Hour), "push service down"); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Second)
	if err := s.AdvanceNotify(ctx, c.ID, 3, 5, []parley.Notification{pushEntry(u[1], 5, 1, parley.ReasonMessage, later)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceNotify(ctx, d.ID, 0, 1, []parley.Notification{pushEntry(u[1], 1, 1, parley.ReasonMessage, later)}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.PendingNotifications(ctx, u[1])
	if len(p) != 2 {
		t.Fatalf("pending %+v", p)
	}
	var e parley.Notification
	for _, x := range p {
		if x.ConversationID == c.ID {
			e = x
		}
	}
	if e.ID != claimed[0].ID || e.Seq != 5 || e.Count != 3 || e.Reason != parley.ReasonMention || e.Rev != 2 ||
		e.Attempts != 0 || e.LastError != "" || !e.NextAt.Equal(later) {
		t.Fatalf("collapsed entry %+v", e)
	}
	// The claim delivered revision 1: finishing it keeps the news of revision 2.
	if err := s.FinishNotification(ctx, claimed[0].ID, claimed[0].Rev); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PendingNotifications(ctx, u[1]); len(p) != 2 {
		t.Fatalf("finishing a stale revision removed the entry: %+v", p)
	}
	// A direct reason is never weakened.
	if err := s.AdvanceNotify(ctx, d.ID, 1, 2, []parley.Notification{pushEntry(u[1], 2, 1, parley.ReasonDirect, later)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceNotify(ctx, d.ID, 2, 3, []parley.Notification{pushEntry(u[1], 3, 1, parley.ReasonMention, later)}); err != nil {
		t.Fatal(err)
	}
	for _, x := range mustPending(t, s, u[1]) {
		if x.ConversationID == d.ID && (x.Reason != parley.ReasonDirect || x.Count != 3 || x.Seq != 3) {
			t.Fatalf("entry of d %+v", x)
		}
	}
}

func mustPending(t *testing.T, s parley.Store, user string) []parley.Notification {
	t.Helper()
	p, err := s.PendingNotifications(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// notifyClaimLease: a claim leases entries; an unfinished claim comes back
// when the lease ends (a crashed worker); retries wait; finish removes.
func notifyClaimLease(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "nl", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u...)
	now := baseTime
	if err := s.AdvanceNotify(ctx, c.ID, 0, 1, []parley.Notification{
		pushEntry(u[1], 1, 1, parley.ReasonMessage, now), pushEntry(u[2], 1, 1, parley.ReasonMessage, now.Add(time.Minute)),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimNotifications(ctx, now, 30*time.Second, 10)
	if err != nil || len(got) != 1 || got[0].UserID != u[1] || got[0].Attempts != 1 || !got[0].NextAt.Equal(now.Add(30*time.Second)) {
		t.Fatalf("claim %+v %v", got, err)
	}
	if again, _ := s.ClaimNotifications(ctx, now.Add(time.Second), 30*time.Second, 10); len(again) != 0 {
		t.Fatalf("a leased entry was claimed again: %+v", again)
	}
	// The lease ends without a finish: both entries are due.
	got, err = s.ClaimNotifications(ctx, now.Add(time.Minute), 30*time.Second, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim after the lease %+v %v", got, err)
	}
	for _, n := range got {
		if n.UserID == u[1] && n.Attempts != 2 || n.UserID == u[2] && n.Attempts != 1 {
			t.Fatalf("attempts %+v", n)
		}
	}
	if l, _ := s.ClaimNotifications(ctx, now.Add(time.Minute), time.Second, 1); len(l) != 0 {
		t.Fatalf("limit/lease %+v", l)
	}
	retry := now.Add(time.Hour)
	for _, n := range got {
		if n.UserID == u[1] {
			if err := s.RetryNotification(ctx, n.ID, n.Rev, retry, "503"); err != nil {
				t.Fatal(err)
			}
		} else if err := s.FinishNotification(ctx, n.ID, n.Rev); err != nil {
			t.Fatal(err)
		}
	}
	if p := mustPending(t, s, u[2]); len(p) != 0 {
		t.Fatalf("finished entry still queued %+v", p)
	}
	p := mustPending(t, s, u[1])
	if len(p) != 1 || !p[0].NextAt.Equal(retry) || p[0].LastError != "503" {
		t.Fatalf("retried entry %+v", p)
	}
	if l, _ := s.ClaimNotifications(ctx, retry.Add(-time.Second), time.Minute, 10); len(l) != 0 {
		t.Fatalf("claimed before its retry time %+v", l)
	}
	if l, _ := s.ClaimNotifications(ctx, retry, time.Minute, 10); len(l) != 1 || l[0].Attempts != 3 {
		t.Fatalf("claim at retry time %+v", l)
	}
	// A missing entry is no error (another worker finished it).
	if err := s.FinishNotification(ctx, parley.NewID(), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryNotification(ctx, parley.NewID(), 1, now, "x"); err != nil {
		t.Fatal(err)
	}
}

// notifyConcurrentClaims: claimers running at once split the due entries.
func notifyConcurrentClaims(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "nx", 21)
	c := newConversation(t, s, parley.KindGroup, "g", u...)
	now := baseTime
	var ns []parley.Notification
	for _, id := range u[1:] {
		ns = append(ns, pushEntry(id, 1, 1, parley.ReasonMessage, now))
	}
	if err := s.AdvanceNotify(ctx, c.ID, 0, 1, ns); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimNotifications(ctx, now, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					seen[n.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("claimed %d distinct entries, want 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("entry %s claimed %d times within one lease", id, n)
		}
	}
}

// notifyConcurrentAdvance: of advances racing from the same cursor, one
// wins; the others get CodeConflict and enqueue nothing.
func notifyConcurrentAdvance(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "na", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.AdvanceNotify(ctx, c.ID, 0, 1, []parley.Notification{pushEntry(u[1], 1, 1, parley.ReasonMessage, baseTime)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case parley.IsCode(err, parley.CodeConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 5 {
		t.Fatalf("wins %d conflicts %d", wins, conflicts)
	}
	if p := mustPending(t, s, u[1]); len(p) != 1 || p[0].Count != 1 {
		t.Fatalf("pending %+v", p)
	}
}
