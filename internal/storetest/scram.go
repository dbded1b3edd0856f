package storetest

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
)

// testScram: verifiers start empty, are stored only against the current
// password hash, and a new password hash clears them.
func testScram(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := acctCreate(t, s, acctUser("scrammer"))
	hash := "$argon2id$hash-of-" + u.Username
	if k, err := s.ScramKeys(ctx, u.ID); err != nil || k != "" {
		t.Fatalf("ScramKeys of a new user = %q, %v; want empty", k, err)
	}
	acctCode(t, "ScramKeys(unknown)", func() error { _, err := s.ScramKeys(ctx, parley.NewID()); return err }(), parley.CodeNotFound)
	acctCode(t, "SetScramKeys(unknown)", s.SetScramKeys(ctx, parley.NewID(), hash, "k"), parley.CodeNotFound)
	acctCode(t, "SetScramKeys(stale hash)", s.SetScramKeys(ctx, u.ID, "$argon2id$old", "k"), parley.CodeNotFound)
	if err := s.SetScramKeys(ctx, u.ID, hash, "SCRAM-SHA-256$4096:c2FsdA==$YQ==:Yg=="); err != nil {
		t.Fatal(err)
	}
	if k, err := s.ScramKeys(ctx, u.ID); err != nil || k != "SCRAM-SHA-256$4096:c2FsdA==$YQ==:Yg==" {
		t.Fatalf("ScramKeys = %q, %v", k, err)
	}
	if err := s.SetPasswordHash(ctx, u.ID, "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	if k, err := s.ScramKeys(ctx, u.ID); err != nil || k != "" {
		t.Fatalf("ScramKeys after a password change = %q, %v; want empty", k, err)
	}
}
