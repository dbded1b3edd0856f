package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testEmail: tokens work once, expire, and only the newest per user and
// kind works; verified addresses; lookup by address.
func testEmail(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "em", 2)
	tok := func(hash string, kind parley.EmailTokenKind, user string, ttl time.Duration) parley.EmailToken {
		return parley.EmailToken{Hash: hash, Kind: kind, UserID: user, Email: "a@example.org", CreatedAt: baseTime,
			ExpiresAt: baseTime.Add(ttl)}
	}
	wantCode(t, s.CreateEmailToken(ctx, tok("h0", parley.TokenVerifyEmail, parley.NewID(), time.Hour)), parley.CodeNotFound)
	if err := s.CreateEmailToken(ctx, tok("h1", parley.TokenVerifyEmail, u[0], time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEmailToken(ctx, tok("r1", parley.TokenResetPassword, u[0], time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := s.ConsumeEmailToken(ctx, parley.TokenResetPassword, "h1", baseTime) // wrong kind
	wantCode(t, err, parley.CodeNotFound)
	got, err := s.ConsumeEmailToken(ctx, parley.TokenVerifyEmail, "h1", baseTime.Add(time.Minute))
	if err != nil || got.UserID != u[0] || got.Email != "a@example.org" || !got.ExpiresAt.Equal(baseTime.Add(time.Hour)) {
		t.Fatalf("consume %+v %v", got, err)
	}
	_, err = s.ConsumeEmailToken(ctx, parley.TokenVerifyEmail, "h1", baseTime.Add(time.Minute)) // used
	wantCode(t, err, parley.CodeNotFound)
	// A newer reset token replaces the older one.
	if err := s.CreateEmailToken(ctx, tok("r2", parley.TokenResetPassword, u[0], time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = s.ConsumeEmailToken(ctx, parley.TokenResetPassword, "r1", baseTime)
	wantCode(t, err, parley.CodeNotFound)
	// Expired: refused (and gone).
	_, err = s.ConsumeEmailToken(ctx, parley.TokenResetPassword, "r2", baseTime.Add(time.Hour))
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.ConsumeEmailToken(ctx, parley.TokenResetPassword, "r2", baseTime)
	wantCode(t, err, parley.CodeNotFound)

	if e, err := s.VerifiedEmail(ctx, u[0]); err != nil || e != "" {
		t.Fatalf("verified before %q %v", e, err)
	}
	wantCode(t, s.SetEmailVerified(ctx, parley.NewID(), "x@example.org", baseTime), parley.CodeNotFound)
	if err := s.SetEmailVerified(ctx, u[0], "a@example.org", baseTime); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailVerified(ctx, u[0], "b@example.org", baseTime); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.VerifiedEmail(ctx, u[0]); e != "b@example.org" {
		t.Fatalf("verified %q", e)
	}
	usr, err := s.User(ctx, u[1])
	if err != nil {
		t.Fatal(err)
	}
	usr.Email = "Mixed.Case@Example.org"
	if err := s.UpdateUser(ctx, usr); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.UsersByEmail(ctx, "mixed.case@example.ORG"); err != nil || len(ids) != 1 || ids[0] != u[1] {
		t.Fatalf("by email %v %v", ids, err)
	}
	if ids, err := s.UsersByEmail(ctx, ""); err != nil || len(ids) != 0 {
		t.Fatalf("by empty email %v %v", ids, err)
	}
}
