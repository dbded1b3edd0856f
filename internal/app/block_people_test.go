package app_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// TestBlockingWinsOverPeopleSearch: a blocked pair cannot find each other,
// by exact name or by a typo, either way; unblocking restores it.
func TestBlockingWinsOverPeopleSearch(t *testing.T) {
	e := newMsgEnv(t, app.Limits{})
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bobby")
	finds := func(a parley.Actor, q, id string) bool {
		t.Helper()
		us, err := e.app.FindPeople(ctx, a, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.ID == id {
				return true
			}
		}
		return false
	}
	if !finds(alice, "bobby", bob.UserID) || !finds(bob, "alcie", alice.UserID) {
		t.Fatal("not found before the block")
	}
	if _, err := e.app.BlockUser(ctx, alice, bob.UserID); err != nil {
		t.Fatal(err)
	}
	if finds(alice, "bobby", bob.UserID) || finds(alice, "bobyb", bob.UserID) ||
		finds(bob, "alice", alice.UserID) || finds(bob, "alcie", alice.UserID) {
		t.Fatal("a blocked pair finds each other")
	}
	if _, err := e.app.RequestContact(ctx, bob, alice.UserID); err == nil {
		t.Fatal("contact request across a block accepted")
	}
	if err := e.app.UnblockUser(ctx, alice, bob.UserID); err != nil {
		t.Fatal(err)
	}
	if !finds(alice, "bobby", bob.UserID) || !finds(bob, "alice", alice.UserID) {
		t.Fatal("not found after unblocking")
	}
}
