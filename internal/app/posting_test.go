package app_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// countingStore counts the posting-state reads and the token lookups
// (authcache_test.go) that reach the store.
type countingStore struct {
	parley.Store
	reads   atomic.Int64
	lookups atomic.Int64
}

func (s *countingStore) SessionUserByTokenHash(ctx context.Context, h []byte) (parley.Session, parley.User, error) {
	s.lookups.Add(1)
	return s.Store.SessionUserByTokenHash(ctx, h)
}

func (s *countingStore) PostingState(ctx context.Context, convID, userID string) (parley.PostingState, error) {
	s.reads.Add(1)
	return s.Store.PostingState(ctx, convID, userID)
}

// TestPostingStateCachedAndForgotten: the send path reads a member's posting
// state once, and every change that alters it (mute, unmute, rules, role,
// block, removal) applies to the very next send on the node that made it.
func TestPostingStateCachedAndForgotten(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: raw}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = raw.Close() })
	clock := &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	e := &msgEnv{store: store, clock: clock, app: app.New(app.Options{Store: store, Bus: bus, Now: clock.Now,
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})}
	o, m := e.user(t, "owner"), e.user(t, "member")
	g, _, err := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{m.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := send(e, m, g.ID, "hello"); err != nil {
			t.Fatal(i, err)
		}
	}
	if n := store.reads.Load(); n != 1 {
		t.Fatalf("10 sends read the posting state %d times, want 1", n)
	}

	if _, err := e.app.MuteMember(ctx, o, g.ID, m.UserID, time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	_, err = send(e, m, g.ID, "muted?")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	if err := e.app.UnmuteMember(ctx, o, g.ID, m.UserID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := send(e, m, g.ID, "back"); err != nil {
		t.Fatal(err)
	}

	if _, err := e.app.SetConversationRules(ctx, o, g.ID, parley.ConversationRules{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	_, err = send(e, m, g.ID, "read-only?")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	admin := parley.RoleAdmin
	if _, err := e.app.UpdateMember(ctx, o, g.ID, m.UserID, app.MemberUpdate{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := send(e, m, g.ID, "admins post"); err != nil {
		t.Fatalf("an admin in a read-only group: %v", err)
	}
	member := parley.RoleMember
	if _, err := e.app.UpdateMember(ctx, o, g.ID, m.UserID, app.MemberUpdate{Role: &member}); err != nil {
		t.Fatal(err)
	}
	_, err = send(e, m, g.ID, "demoted")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	if _, err := e.app.SetConversationRules(ctx, o, g.ID, parley.ConversationRules{}); err != nil {
		t.Fatal(err)
	}
	if err := e.app.KickMember(ctx, o, g.ID, m.UserID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err = send(e, m, g.ID, "kicked"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("a kicked member sends: %v", err)
	}

	dm, _, err := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{m.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(e, m, dm.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.BlockUser(ctx, o, m.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = send(e, m, dm.ID, "blocked?")
	wantModErr(t, err, parley.CodeForbidden, "conversation_id")
	if err := e.app.UnblockUser(ctx, o, m.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := send(e, m, dm.ID, "unblocked"); err != nil {
		t.Fatal(err)
	}
}

// TestPostingChangeReachesOtherNode: two apps (nodes) on one store and bus;
// a mute made on one applies on the other through the bus, well before
// PostingCacheTTL (the clock never moves here).
func TestPostingChangeReachesOtherNode(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = store.Close() })
	clock := &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	node := func() *msgEnv {
		a := app.New(app.Options{Store: store, Bus: bus, Now: clock.Now,
			Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})
		unsub, err := bus.Subscribe(a.HandleEvent)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(unsub)
		return &msgEnv{store: store, clock: clock, app: a}
	}
	n1, n2 := node(), node()
	o, m := n1.user(t, "owner"), n1.user(t, "member")
	g, _, err := n1.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{m.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(n2, m, g.ID, "warm"); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.app.MuteMember(ctx, o, g.ID, m.UserID, time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := send(n2, m, g.ID, "muted?")
		if parley.IsCode(err, parley.CodeForbidden) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("node 2 still admits a muted member's send: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
