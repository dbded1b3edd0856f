package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// reportQueue: reports round-trip; the queue filters by status,
// conversation and reporter, newest first, paged by Before; resolving is
// once only (conflict the second time, not_found for an unknown id).
func reportQueue(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "rp", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1], u[2])
	var ids []string
	for i := range 4 {
		r := parley.Report{ID: parley.NewID(), ReporterID: u[1], TargetUserID: u[2], Reason: "spam", Status: parley.ReportOpen,
			CreatedAt: baseTime.Add(time.Duration(i) * time.Second)}
		if i < 3 {
			r.ConversationID, r.Seq, r.Excerpt = c.ID, int64(i+1), "buy now"
		}
		if err := s.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		time.Sleep(2 * time.Millisecond) // ids are time-ordered to the millisecond
	}
	got, err := s.Report(ctx, ids[0])
	if err != nil || got.Excerpt != "buy now" || got.Seq != 1 || got.Status != parley.ReportOpen || got.ResolvedAt != nil ||
		!got.CreatedAt.Equal(baseTime) {
		t.Fatalf("report %+v %v", got, err)
	}
	_, err = s.Report(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	list := func(q parley.ReportQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		rs, err := s.Reports(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if l := list(parley.ReportQuery{}); !reflect.DeepEqual(l, []string{ids[3], ids[2], ids[1], ids[0]}) {
		t.Fatalf("all %v", l)
	}
	if l := list(parley.ReportQuery{ConversationID: c.ID, Limit: 2}); !reflect.DeepEqual(l, []string{ids[2], ids[1]}) {
		t.Fatalf("conversation page %v", l)
	}
	if l := list(parley.ReportQuery{ConversationID: c.ID, Before: ids[1]}); !reflect.DeepEqual(l, []string{ids[0]}) {
		t.Fatalf("before %v", l)
	}
	if n, err := s.OpenReports(ctx, u[1]); err != nil || n != 4 {
		t.Fatalf("open %d %v", n, err)
	}
	at := baseTime.Add(time.Hour)
	r, err := s.ResolveReport(ctx, ids[1], parley.ReportDeleteMessage, u[0], "thanks", at)
	if err != nil || r.Status != parley.ReportResolved || r.Action != parley.ReportDeleteMessage || r.ResolvedBy != u[0] ||
		r.Note != "thanks" || r.ResolvedAt == nil || !r.ResolvedAt.Equal(at) {
		t.Fatalf("resolved %+v %v", r, err)
	}
	_, err = s.ResolveReport(ctx, ids[1], parley.ReportDismiss, u[0], "", at)
	wantCode(t, err, parley.CodeConflict)
	_, err = s.ResolveReport(ctx, parley.NewID(), parley.ReportDismiss, u[0], "", at)
	wantCode(t, err, parley.CodeNotFound)
	if l := list(parley.ReportQuery{Status: parley.ReportOpen, ReporterID: u[1]}); len(l) != 3 {
		t.Fatalf("open of reporter %v", l)
	}
	if l := list(parley.ReportQuery{Status: parley.ReportResolved}); !reflect.DeepEqual(l, []string{ids[1]}) {
		t.Fatalf("resolved %v", l)
	}
	if n, _ := s.OpenReports(ctx, u[1]); n != 3 {
		t.Fatalf("open after resolve %d", n)
	}
}
