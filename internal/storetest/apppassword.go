package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testAppPasswords: app passwords are found only by their owner and hash,
// record their last use, are capped per user (also under concurrency), are
// deleted one by one, all at once, and with the account.
func testAppPasswords(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("apppw"))
	other := acctCreate(t, s, acctUser("apppwother"))
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(userID, name string, at time.Time) parley.AppPassword {
		return parley.AppPassword{ID: parley.NewID(), UserID: userID, Name: name, Hash: tfHash(userID + name), CreatedAt: at}
	}
	p := mk(u.ID, "phone", now)
	if err := s.CreateAppPassword(ctx, p); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "CreateAppPassword(unknown user)", s.CreateAppPassword(ctx, mk(parley.NewID(), "x", now)), parley.CodeNotFound)
	later := mk(u.ID, "laptop", now.Add(time.Second))
	if err := s.CreateAppPassword(ctx, later); err != nil {
		t.Fatal(err)
	}
	list, err := s.AppPasswords(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ID != later.ID || list[1].Name != "phone" || list[1].LastUsedAt != nil ||
		!list[1].CreatedAt.Equal(now) {
		t.Fatalf("AppPasswords = %+v, %v", list, err)
	}
	if list, err := s.AppPasswords(ctx, other.ID); err != nil || len(list) != 0 {
		t.Fatalf("AppPasswords(other) = %+v, %v", list, err)
	}
	used := now.Add(time.Minute)
	got, err := s.UseAppPassword(ctx, u.ID, p.Hash, used)
	if err != nil || got.ID != p.ID || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("UseAppPassword = %+v, %v", got, err)
	}
	acctCode(t, "UseAppPassword(someone else's)", func() error { _, err := s.UseAppPassword(ctx, other.ID, p.Hash, used); return err }(), parley.CodeNotFound)
	acctCode(t, "UseAppPassword(wrong hash)", func() error { _, err := s.UseAppPassword(ctx, u.ID, tfHash("nope"), used); return err }(), parley.CodeNotFound)
	acctCode(t, "DeleteAppPassword(someone else's)", s.DeleteAppPassword(ctx, other.ID, p.ID), parley.CodeNotFound)
	if err := s.DeleteAppPassword(ctx, u.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	acctCode(t, "DeleteAppPassword(twice)", s.DeleteAppPassword(ctx, u.ID, p.ID), parley.CodeNotFound)
	acctCode(t, "UseAppPassword(deleted)", func() error { _, err := s.UseAppPassword(ctx, u.ID, p.Hash, used); return err }(), parley.CodeNotFound)

	// The cap holds under concurrent creation.
	var wg sync.WaitGroup
	errs := make([]error, parley.AppPasswordsPerUser+5)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.CreateAppPassword(ctx, mk(other.ID, fmt.Sprint("c", i), now)) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !parley.IsCode(err, parley.CodeConflict) {
			t.Fatalf("concurrent CreateAppPassword: %v", err)
		}
	}
	if ok != parley.AppPasswordsPerUser {
		t.Fatalf("%d app passwords created, cap %d", ok, parley.AppPasswordsPerUser)
	}
	if n, err := s.DeleteUserAppPasswords(ctx, other.ID); err != nil || n != parley.AppPasswordsPerUser {
		t.Fatalf("DeleteUserAppPasswords = %d, %v", n, err)
	}
	if _, err := s.DeleteUser(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	if list, err := s.AppPasswords(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("app passwords of a deleted account = %+v, %v", list, err)
	}
}
