package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// testRetention: policies default to keep-forever; PurgeHistory deletes
// the messages older than the cut for good (history, single reads, search)
// and keeps seqs growing; a legal hold stops it and drops the policy from
// the due list.
func testRetention(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "rt", 2)
	c := newConversation(t, s, parley.KindGroup, "kept short", u[0], u[1])
	other := newConversation(t, s, parley.KindGroup, "kept long", u[0], u[1])
	if p, err := s.Retention(ctx, c.ID); err != nil || p.Days != 0 || p.LegalHold {
		t.Fatalf("Retention(new) = %+v, %v", p, err)
	}
	acctCode(t, "SetRetentionDays(unknown)", s.SetRetentionDays(ctx, parley.NewID(), 1, baseTime), parley.CodeNotFound)
	acctCode(t, "SetLegalHold(unknown)", s.SetLegalHold(ctx, parley.NewID(), true, baseTime), parley.CodeNotFound)
	old := baseTime.Add(time.Hour)
	fresh := baseTime.Add(10 * 24 * time.Hour)
	send := func(conv string, i int, body string, at time.Time) parley.Message {
		m := userMsg(conv, u[i%2], fmt.Sprint(conv, body), body)
		m.CreatedAt = at
		got, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	o1 := send(c.ID, 0, "oldword one", old)
	send(c.ID, 1, "oldword two", old)
	send(other.ID, 0, "oldword elsewhere", old)
	n1 := send(c.ID, 0, "newword", fresh)
	if err := s.SetRetentionDays(ctx, c.ID, 7, baseTime); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Retention(ctx, c.ID); p.Days != 7 || p.LegalHold {
		t.Fatalf("policy = %+v", p)
	}
	due, err := s.DueRetention(ctx)
	if err != nil || len(due) != 1 || due[0].ConversationID != c.ID || due[0].Days != 7 {
		t.Fatalf("DueRetention = %+v, %v", due, err)
	}

	// Held: nothing goes, and the policy is not due.
	if err := s.SetLegalHold(ctx, c.ID, true, baseTime); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Retention(ctx, c.ID); p.Days != 7 || !p.LegalHold {
		t.Fatalf("policy on hold = %+v", p)
	}
	if due, _ := s.DueRetention(ctx); len(due) != 0 {
		t.Fatalf("DueRetention with a hold = %+v", due)
	}
	if n, err := s.PurgeHistory(ctx, c.ID, fresh.Add(time.Hour), fresh); err != nil || n != 0 {
		t.Fatalf("PurgeHistory on hold = %d, %v", n, err)
	}
	if err := s.SetLegalHold(ctx, c.ID, false, baseTime); err != nil {
		t.Fatal(err)
	}

	n, err := s.PurgeHistory(ctx, c.ID, baseTime.Add(24*time.Hour), fresh)
	if err != nil || n < 2 {
		t.Fatalf("PurgeHistory = %d, %v", n, err)
	}
	hist, err := s.History(ctx, c.ID, parley.HistoryQuery{After: 0, Limit: 100})
	if err != nil || len(hist) != 1 || hist[0].ID != n1.ID {
		t.Fatalf("history after purge = %+v, %v", hist, err)
	}
	acctCode(t, "Message(purged)", func() error { _, err := s.Message(ctx, c.ID, o1.Seq); return err }(), parley.CodeNotFound)
	if got := searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"oldword"}}); len(got) != 1 || got[0] != "oldword elsewhere" {
		t.Fatalf("search after purge = %v (only the other conversation's should remain)", got)
	}
	if got := searchBodies(t, s, parley.MessageSearch{UserID: u[0], Terms: []string{"newword"}}); len(got) != 1 {
		t.Fatalf("search for the kept message = %v", got)
	}
	// Seqs keep growing: no purged seq is reused.
	after := send(c.ID, 1, "later", fresh.Add(time.Minute))
	if after.Seq != n1.Seq+1 {
		t.Fatalf("seq after purge = %d, want %d", after.Seq, n1.Seq+1)
	}
	if n, err := s.PurgeHistory(ctx, c.ID, baseTime.Add(24*time.Hour), fresh); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v", n, err)
	}
	acctCode(t, "PurgeHistory(unknown)", func() error { _, err := s.PurgeHistory(ctx, parley.NewID(), fresh, fresh); return err }(), parley.CodeNotFound)
	if hist, _ := s.History(ctx, other.ID, parley.HistoryQuery{After: 0, Limit: 100}); len(hist) == 0 {
		t.Fatal("another conversation lost its history")
	}
}
