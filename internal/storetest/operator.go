package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func opInvite(code string, maxUses int, expires *time.Time) parley.Invite {
	return parley.Invite{ID: parley.NewID(), Code: code, Note: "for " + code, CreatedBy: "admin-id",
		MaxUses: maxUses, ExpiresAt: expires, CreatedAt: acctTime, Org: parley.DefaultOrgID}
}

func testOperator(t *testing.T, open Opener) {
	t.Run("InvitesClaimRevokeRelease", func(t *testing.T) { testInvites(t, open) })
	t.Run("InviteClaimRace", func(t *testing.T) { testInviteRace(t, open) })
	t.Run("AuditNewestFirstByTarget", func(t *testing.T) { testAudit(t, open) })
	t.Run("ListUsersAndDeleteUser", func(t *testing.T) { testDeleteUser(t, open) })
}

func testInvites(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	exp := acctTime.Add(time.Hour)
	a := opInvite("code-a", 2, &exp)
	b := opInvite("code-b", 1, nil)
	b.CreatedAt = acctTime.Add(time.Second)
	for _, inv := range []parley.Invite{a, b} {
		if err := s.CreateInvite(ctx, inv); err != nil {
			t.Fatalf("CreateInvite: %v", err)
		}
	}
	dup := opInvite("code-a", 1, nil)
	acctCode(t, "CreateInvite(duplicate code)", s.CreateInvite(ctx, dup), parley.CodeConflict)

	list, err := s.Invites(ctx, "")
	if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
		t.Fatalf("Invites = %+v, %v; want b then a", list, err)
	}
	if !reflect.DeepEqual(list[1], a) {
		t.Fatalf("invite round trip:\n got  %+v\n want %+v", list[1], a)
	}

	_, err = s.ClaimInvite(ctx, "nope", acctTime)
	acctCode(t, "ClaimInvite(unknown)", err, parley.CodeNotFound)
	// Expired at exactly ExpiresAt.
	_, err = s.ClaimInvite(ctx, "code-a", exp)
	acctCode(t, "ClaimInvite(expired)", err, parley.CodeForbidden)
	for i := 1; i <= 2; i++ {
		got, err := s.ClaimInvite(ctx, "code-a", acctTime)
		if err != nil || got.Uses != i {
			t.Fatalf("claim %d: %+v, %v", i, got, err)
		}
	}
	_, err = s.ClaimInvite(ctx, "code-a", acctTime)
	acctCode(t, "ClaimInvite(used up)", err, parley.CodeForbidden)
	if err := s.ReleaseInvite(ctx, a.ID); err != nil {
		t.Fatalf("ReleaseInvite: %v", err)
	}
	if got, err := s.ClaimInvite(ctx, "code-a", acctTime); err != nil || got.Uses != 2 {
		t.Fatalf("claim after release: %+v, %v", got, err)
	}
	acctCode(t, "ReleaseInvite(unknown)", s.ReleaseInvite(ctx, parley.NewID()), parley.CodeNotFound)

	at := acctTime.Add(time.Minute)
	rev, err := s.RevokeInvite(ctx, b.ID, at)
	if err != nil || rev.RevokedAt == nil || !rev.RevokedAt.Equal(at) {
		t.Fatalf("RevokeInvite = %+v, %v", rev, err)
	}
	rev, err = s.RevokeInvite(ctx, b.ID, at.Add(time.Hour))
	if err != nil || !rev.RevokedAt.Equal(at) {
		t.Fatalf("second RevokeInvite moved the time: %+v, %v", rev, err)
	}
	_, err = s.ClaimInvite(ctx, "code-b", acctTime)
	acctCode(t, "ClaimInvite(revoked)", err, parley.CodeForbidden)
	_, err = s.RevokeInvite(ctx, parley.NewID(), at)
	acctCode(t, "RevokeInvite(unknown)", err, parley.CodeNotFound)
}

// testInviteRace: N concurrent claims of a 3-use invite admit exactly 3.
func testInviteRace(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	if err := s.CreateInvite(ctx, opInvite("race", 3, nil)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ClaimInvite(ctx, "race", acctTime)
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !parley.IsCode(err, parley.CodeForbidden) {
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 3 {
		t.Fatalf("%d claims succeeded, want 3", ok)
	}
}

func testAudit(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		e := parley.AuditEntry{ID: parley.NewID(), At: acctTime.Add(time.Duration(i) * time.Second),
			ActorID: "a1", Actor: "root", Action: "user.disable", TargetID: fmt.Sprintf("t%d", i%2),
			Target: "bob", Detail: fmt.Sprintf("entry %d", i)}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
		time.Sleep(2 * time.Millisecond) // NewID orders by millisecond
	}
	all, err := s.Audit(ctx, parley.AuditQuery{Limit: 10})
	if err != nil || len(all) != 5 || all[0].ID != ids[4] || all[4].ID != ids[0] || all[0].Detail != "entry 4" {
		t.Fatalf("Audit = %+v, %v", all, err)
	}
	page, err := s.Audit(ctx, parley.AuditQuery{Limit: 2, Before: ids[3]})
	if err != nil || len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] {
		t.Fatalf("Audit(before) = %+v, %v", page, err)
	}
	t0, err := s.Audit(ctx, parley.AuditQuery{Limit: 10, TargetID: "t0"})
	if err != nil || len(t0) != 3 {
		t.Fatalf("Audit(target t0) = %d entries, %v; want 3", len(t0), err)
	}
}

func testDeleteUser(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	alice := acctCreate(t, s, acctUser("alice"))
	bob := acctUser("bob")
	bob.Disabled = true
	acctCreate(t, s, bob)
	acctCreate(t, s, acctUser("carol"))
	ss := acctCreateSession(t, s, acctSession(alice.ID, acctTime))

	list, err := s.ListUsers(ctx, "", "", "", 10)
	if err != nil || !reflect.DeepEqual(usernames(list), []string{"alice", "bob", "carol"}) {
		t.Fatalf("ListUsers = %v, %v (disabled bob must be listed)", usernames(list), err)
	}
	c, err := s.Counts(ctx)
	if err != nil || c.Users != 3 {
		t.Fatalf("Counts = %+v, %v", c, err)
	}

	at := acctTime.Add(time.Hour)
	ended, err := s.DeleteUser(ctx, alice.ID, at)
	if err != nil || !reflect.DeepEqual(ended, []string{ss.ID}) {
		t.Fatalf("DeleteUser = %v, %v; want the one session ended", ended, err)
	}
	got, err := s.User(ctx, alice.ID)
	if err != nil || got.Username != parley.DeletedUsername(alice.ID) || got.DisplayName != parley.DeletedDisplayName ||
		got.Email != "" || !got.Disabled || !got.Deleted() || !got.UpdatedAt.Equal(at) {
		t.Fatalf("tombstone = %+v, %v", got, err)
	}
	if h, err := s.PasswordHash(ctx, alice.ID); err != nil || h != "!" {
		t.Fatalf("password hash after delete = %q, %v", h, err)
	}
	if _, err := s.SessionByTokenHash(ctx, ss.TokenHash); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("session survived DeleteUser: %v", err)
	}
	_, err = s.UserByUsername(ctx, "alice")
	acctCode(t, "old username after delete", err, parley.CodeNotFound)
	// The name is free again.
	acctCreate(t, s, acctUser("alice"))
	_, err = s.DeleteUser(ctx, alice.ID, at)
	acctCode(t, "DeleteUser twice", err, parley.CodeNotFound)
	_, err = s.DeleteUser(ctx, parley.NewID(), at)
	acctCode(t, "DeleteUser(unknown)", err, parley.CodeNotFound)

	list, err = s.ListUsers(ctx, "", "", "", 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListUsers after delete = %v, %v (tombstone must not be listed)", usernames(list), err)
	}
	list, err = s.ListUsers(ctx, "", "b", "", 10)
	if err != nil || !reflect.DeepEqual(usernames(list), []string{"bob"}) {
		t.Fatalf("ListUsers(b) = %v, %v", usernames(list), err)
	}
	list, err = s.ListUsers(ctx, "", "", "alice", 1)
	if err != nil || !reflect.DeepEqual(usernames(list), []string{"bob"}) {
		t.Fatalf("ListUsers(after alice, 1) = %v, %v", usernames(list), err)
	}
	if c, err := s.Counts(ctx); err != nil || c.Users != 3 {
		t.Fatalf("Counts after delete = %+v, %v (tombstones not counted)", c, err)
	}
}
