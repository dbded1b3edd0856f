package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/postgres"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// Lingering committers (Options.CommitLinger) on two nodes keep every
// guarantee of the plain ones: gap-free seqs in commit order, each ack the
// stored message, each sender's messages in its order; and they batch.
func TestLingeringCommittersOnTwoNodes(t *testing.T) {
	t.Parallel()
	u := pgtest.Schema(t)
	var ns []*postgres.Store
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := postgres.OpenWith(ctx, u, postgres.Options{CommitLinger: 5 * time.Millisecond})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		ns = append(ns, s)
	}
	const senders, each = 32, 30
	conv, users := seed(t, ns[0], senders)
	acked := sendConcurrently(t, senders, each, func(w int) (*postgres.Store, string, string) {
		return ns[w%2], conv, users[w]
	})
	if t.Failed() {
		return
	}
	last := map[string]string{}
	for _, m := range checkGapFree(t, ns[1], conv, senders*each) {
		if a, ok := acked[m.ID]; !ok || a.Seq != m.Seq || a.ClientMsgID != m.ClientMsgID {
			t.Fatalf("stored message %+v does not match its ack %+v", m, a)
		}
		if m.ClientMsgID <= last[m.SenderID] {
			t.Fatalf("sender %s: %s stored after %s", m.SenderID, m.ClientMsgID, last[m.SenderID])
		}
		last[m.SenderID] = m.ClientMsgID
	}
	var appends, batches int64
	for _, s := range ns {
		st := s.Stats()
		appends, batches = appends+st.Appends, batches+st.Batches
	}
	if appends != senders*each || batches*2 > appends {
		t.Fatalf("%d appends in %d batches: want at least 2 per batch on average", appends, batches)
	}
}
