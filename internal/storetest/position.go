package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// testPositions: a session's positions only move forward, belong to their
// owner, expire together, and are forgotten on request or expiry.
func testPositions(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "pos", 2)
	conv, other := "01aaaaaaaaaaaaaaaaaaaaaaaa", "01bbbbbbbbbbbbbbbbbbbbbbbb"
	sess := u[0] + "/laptop"
	exp := baseTime.Add(time.Hour)
	if p, err := s.Positions(ctx, sess, u[0], baseTime); err != nil || len(p) != 0 {
		t.Fatalf("no positions yet: %v %v", p, err)
	}
	if err := s.SavePositions(ctx, sess, u[0], map[string]int64{conv: 5, other: 2}, exp); err != nil {
		t.Fatal(err)
	}
	// Older positions never move a session back; newer ones move it on.
	if err := s.SavePositions(ctx, sess, u[0], map[string]int64{conv: 3}, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePositions(ctx, sess, u[0], map[string]int64{other: 9}, exp.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p, err := s.Positions(ctx, sess, u[0], baseTime)
	if err != nil || fmt.Sprint(p) != fmt.Sprint(map[string]int64{conv: 5, other: 9}) {
		t.Fatalf("positions %v %v", p, err)
	}
	// Another user does not read them.
	if p, _ := s.Positions(ctx, sess, u[1], baseTime); len(p) != 0 {
		t.Fatalf("another user read %v", p)
	}
	// The last save moved the whole session's expiry: both live at exp+30m.
	if p, _ := s.Positions(ctx, sess, u[0], exp.Add(30*time.Minute)); len(p) != 2 {
		t.Fatalf("expiry not moved for the whole session: %v", p)
	}
	// A second session, then expiry and deletion.
	sess2 := u[1] + "/phone"
	if err := s.SavePositions(ctx, sess2, u[1], map[string]int64{conv: 1}, baseTime.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpiredPositions(ctx, baseTime.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("expired %d %v", n, err)
	}
	if p, _ := s.Positions(ctx, sess, u[0], baseTime); len(p) != 2 {
		t.Fatalf("a live session was swept: %v", p)
	}
	if err := s.DeletePositions(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Positions(ctx, sess, u[0], baseTime); len(p) != 0 {
		t.Fatalf("deleted session still has %v", p)
	}
	if err := s.DeletePositions(ctx, "nobody/none"); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
}
