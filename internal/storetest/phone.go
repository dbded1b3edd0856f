package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testPhone: a code works once, expires, and dies after too many wrong
// attempts; a newer code replaces the older.
func testPhone(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ph", 1)[0]
	wantCode(t, s.SetPhoneCode(ctx, parley.NewID(), "+33612345678", "h", baseTime), parley.CodeNotFound)
	_, err := s.CheckPhoneCode(ctx, u, "h", baseTime, 3)
	wantCode(t, err, parley.CodeNotFound)
	if err := s.SetPhoneCode(ctx, u, "+33612345678", "h1", baseTime.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPhoneCode(ctx, u, "wrong", baseTime, 3)
	wantCode(t, err, parley.CodeInvalid)
	_, err = s.CheckPhoneCode(ctx, u, "wrong", baseTime, 3)
	wantCode(t, err, parley.CodeInvalid)
	_, err = s.CheckPhoneCode(ctx, u, "wrong", baseTime, 3) // the third wrong attempt deletes the code
	wantCode(t, err, parley.CodeInvalid)
	_, err = s.CheckPhoneCode(ctx, u, "h1", baseTime, 3)
	wantCode(t, err, parley.CodeNotFound)

	if err := s.SetPhoneCode(ctx, u, "+33612345678", "h2", baseTime.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPhoneCode(ctx, u, "h2", baseTime.Add(10*time.Minute), 3) // expired
	wantCode(t, err, parley.CodeNotFound)
	if err := s.SetPhoneCode(ctx, u, "+33612345678", "h3", baseTime.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPhoneCode(ctx, u, "+4915112345678", "h4", baseTime.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPhoneCode(ctx, u, "h3", baseTime, 3) // replaced
	wantCode(t, err, parley.CodeInvalid)
	if p, err := s.CheckPhoneCode(ctx, u, "h4", baseTime, 3); err != nil || p != "+4915112345678" {
		t.Fatalf("check %q %v", p, err)
	}
	_, err = s.CheckPhoneCode(ctx, u, "h4", baseTime, 3) // used
	wantCode(t, err, parley.CodeNotFound)
	if p, err := s.VerifiedPhone(ctx, u); err != nil || p != "+4915112345678" {
		t.Fatalf("verified %q %v", p, err)
	}
}
