package app_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// Realtime.History checks a member inside the page's read; everyone else
// must get exactly App.History's answers.
func TestRealtimeHistoryMatchesAppHistory(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	rt := app.NewRealtime(e.app, nil)
	owner, stranger := e.user(t, "owner"), e.user(t, "stranger")
	group, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g"})
	if err != nil {
		t.Fatal(err)
	}
	channel, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindChannel, Title: "c", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // after the creation notice (seq 1): seqs 2–4
		if _, _, err := e.app.SendMessage(ctx, owner, app.SendMessageInput{ConversationID: group.ID,
			ClientMsgID: string(rune('a' + i)), Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name          string
		actor         parley.Actor
		conv          string
		after, before int64
		limit         int
		code          parley.Code // "" for success
		n             int
	}{
		{"member after", owner, group.ID, 1, 0, 10, "", 3},
		{"member newest", owner, group.ID, 0, 0, 0, "", 4},
		{"member bad limit", owner, group.ID, 0, 0, 1000, parley.CodeInvalid, 0},
		{"member both", owner, group.ID, 1, 3, 10, parley.CodeInvalid, 0},
		{"stranger private", stranger, group.ID, 0, 0, 10, parley.CodeNotFound, 0},
		{"stranger public", stranger, channel.ID, 0, 0, 10, parley.CodeForbidden, 0},
		{"bad id", owner, "nope", 0, 0, 10, parley.CodeInvalid, 0},
		{"anonymous", parley.Actor{}, group.ID, 0, 0, 10, parley.CodeUnauthenticated, 0},
	}
	for _, c := range cases {
		got, gerr := rt.History(ctx, c.actor, c.conv, c.after, c.before, c.limit)
		if c.code == "" && (gerr != nil || len(got) != c.n) || c.code != "" && !parley.IsCode(gerr, c.code) {
			t.Errorf("%s: %d messages, error %v; want %d messages, code %q", c.name, len(got), gerr, c.n, c.code)
		}
		want, werr := e.app.History(ctx, c.actor, c.conv, app.HistoryInput{After: c.after, Before: c.before, Limit: c.limit})
		if parley.ErrorCode(gerr) != parley.ErrorCode(werr) || (gerr == nil) != (werr == nil) {
			t.Errorf("%s: error %v, App.History %v", c.name, gerr, werr)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d messages, App.History %d", c.name, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].Seq != want[i].Seq {
				t.Errorf("%s: message %d seq %d, App.History %d", c.name, i, got[i].Seq, want[i].Seq)
			}
		}
	}
}

// historyCountingStore counts the reads Realtime.History may make.
type historyCountingStore struct {
	parley.Store
	member, history atomic.Int64
}

func (s *historyCountingStore) Member(ctx context.Context, convID, userID string) (parley.Member, error) {
	s.member.Add(1)
	return s.Store.Member(ctx, convID, userID)
}

func (s *historyCountingStore) History(ctx context.Context, convID string, q parley.HistoryQuery) ([]parley.Message, error) {
	s.history.Add(1)
	return s.Store.History(ctx, convID, q)
}

// TestRealtimeHistoryRemovedMember: a member's history page, over the
// socket or REST, costs one store read (no membership read before it), and from the moment the
// removal returns the removed member reads nothing — whatever their
// connections still believe (the member_left event is delivered
// asynchronously; this check does not depend on it).
func TestRealtimeHistoryRemovedMember(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &historyCountingStore{Store: raw}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = raw.Close() })
	clock := &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	e := &msgEnv{store: store, clock: clock, app: app.New(app.Options{Store: store, Bus: bus, Now: clock.Now,
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})}
	rt := app.NewRealtime(e.app, nil)
	owner, m := e.user(t, "owner"), e.user(t, "member")
	group, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{m.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	channel, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindChannel, Title: "c",
		Public: true, MemberIDs: []string{m.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{group.ID, channel.ID} {
		for i := range 3 {
			if _, _, err := e.app.SendMessage(ctx, owner, app.SendMessageInput{ConversationID: c,
				ClientMsgID: c + string(rune('a'+i)), Body: "hi"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	store.member.Store(0)
	store.history.Store(0)
	for _, c := range []string{group.ID, channel.ID} {
		if ms, err := rt.History(ctx, m, c, 1, 0, 10); err != nil || len(ms) != 3 {
			t.Fatalf("member's page: %d messages, %v", len(ms), err)
		}
		if ms, err := rt.History(ctx, m, c, 0, math.MaxInt64, 2); err != nil || len(ms) != 2 {
			t.Fatalf("member's newest page: %d messages, %v", len(ms), err)
		}
	}
	if n, h := store.member.Load(), store.history.Load(); n != 0 || h != 4 {
		t.Errorf("4 member pages: %d membership reads, %d history reads; want 0 and 4", n, h)
	}
	// The REST path (App.History) reads the same way; an empty page costs
	// one membership read more, and a member's bad input is invalid.
	store.member.Store(0)
	store.history.Store(0)
	if ms, err := e.app.History(ctx, m, group.ID, app.HistoryInput{Before: 3, Limit: 10}); err != nil || len(ms) != 2 {
		t.Fatalf("member's REST page: %d messages, %v", len(ms), err)
	}
	if n, h := store.member.Load(), store.history.Load(); n != 0 || h != 1 {
		t.Errorf("a member's REST page: %d membership reads, %d history reads; want 0 and 1", n, h)
	}
	if ms, err := e.app.History(ctx, m, group.ID, app.HistoryInput{After: 1000, Limit: 10}); err != nil || len(ms) != 0 {
		t.Fatalf("member's empty page: %d messages, %v", len(ms), err)
	}
	if n, h := store.member.Load(), store.history.Load(); n != 1 || h != 2 {
		t.Errorf("and an empty page: %d membership reads, %d history reads; want 1 and 2", n, h)
	}
	if _, err := e.app.History(ctx, m, group.ID, app.HistoryInput{Before: -1}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("member's page before -1: %v; want invalid", err)
	}
	for _, c := range []struct {
		conv string
		code parley.Code
	}{{group.ID, parley.CodeNotFound}, {channel.ID, parley.CodeForbidden}} {
		if err := e.app.RemoveMember(ctx, owner, c.conv, m.UserID); err != nil {
			t.Fatal(err)
		}
		for _, q := range [][2]int64{{0, 0}, {1, 0}, {0, math.MaxInt64}} {
			ms, err := rt.History(ctx, m, c.conv, q[0], q[1], 10)
			if len(ms) != 0 || !parley.IsCode(err, c.code) {
				t.Errorf("removed member, after %d before %d: %d messages, %v; want code %s", q[0], q[1], len(ms), err, c.code)
			}
			ms, err = e.app.History(ctx, m, c.conv, app.HistoryInput{After: q[0], Before: q[1], Limit: 10})
			if len(ms) != 0 || !parley.IsCode(err, c.code) {
				t.Errorf("removed member over REST, after %d before %d: %d messages, %v; want code %s", q[0], q[1], len(ms), err, c.code)
			}
		}
		// Refusal comes before input errors: a non-member learns nothing more.
		if _, err := e.app.History(ctx, m, c.conv, app.HistoryInput{Before: -1}); !parley.IsCode(err, c.code) {
			t.Errorf("removed member, before -1: %v; want code %s", err, c.code)
		}
	}
}
