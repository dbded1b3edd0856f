package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/parley-chat/parley"
)

// testReceipts checks parley.ReceiptStore: monotonic receipts clamped to
// last_seq, membership, the resync states and the presence visibility query.
func testReceipts(t *testing.T, open Opener) {
	t.Run("monotonic and clamped", func(t *testing.T) { receiptMonotonicAndClamped(t, open) })
	t.Run("not a member", func(t *testing.T) { receiptNotAMember(t, open) })
	t.Run("concurrent advances keep the maximum", func(t *testing.T) { receiptConcurrentAdvancesKeepTheMaximum(t, open) })
	t.Run("conversation states", func(t *testing.T) { receiptConversationStates(t, open) })
	t.Run("shared users", func(t *testing.T) { receiptSharedUsers(t, open) })
}

// receiptMonotonicAndClamped: monotonic and clamped.
func receiptMonotonicAndClamped(t *testing.T, open Opener) {
	ctx := context.Background()
	s, rs := receiptStores(t, open)
	u := newUsers(t, s, "rc", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	appendN(t, s, c.ID, u[0], 4) // seqs 2..5 after the system message
	r, changed, err := rs.AdvanceReceipt(ctx, c.ID, u[1], 3, 0)
	if err != nil || !changed || r.DeliveredSeq != 3 || r.ReadSeq != 0 || r.UserID != u[1] || r.ConversationID != c.ID {
		t.Fatalf("deliver 3: %+v %v %v", r, changed, err)
	}
	r, changed, err = rs.AdvanceReceipt(ctx, c.ID, u[1], 2, 0)
	if err != nil || changed || r.DeliveredSeq != 3 {
		t.Fatalf("deliver 2 moved the receipt back: %+v %v %v", r, changed, err)
	}
	r, changed, err = rs.AdvanceReceipt(ctx, c.ID, u[1], 0, 4)
	if err != nil || !changed || r.ReadSeq != 4 || r.DeliveredSeq != 4 {
		t.Fatalf("read 4 must deliver 4 too: %+v %v %v", r, changed, err)
	}
	r, changed, err = rs.AdvanceReceipt(ctx, c.ID, u[1], 99, 99)
	if err != nil || !changed || r.ReadSeq != 5 || r.DeliveredSeq != 5 {
		t.Fatalf("read 99 must clamp to last_seq 5: %+v %v %v", r, changed, err)
	}
	r, changed, err = rs.AdvanceReceipt(ctx, c.ID, u[1], 1, 1)
	if err != nil || changed || r.ReadSeq != 5 {
		t.Fatalf("read 1 after 5: %+v %v %v", r, changed, err)
	}
	m, err := s.Member(ctx, c.ID, u[1])
	if err != nil || m.DeliveredSeq != 5 || m.ReadSeq != 5 {
		t.Fatalf("member after receipts: %+v %v", m, err)
	}
	all, err := rs.Receipts(ctx, c.ID)
	if err != nil || len(all) != 2 {
		t.Fatalf("receipts: %v %v", all, err)
	}
	for _, r := range all {
		want := int64(0)
		if r.UserID == u[1] {
			want = 5
		}
		if r.ReadSeq != want || r.ConversationID != c.ID {
			t.Errorf("receipt %+v", r)
		}
	}
}

// receiptNotAMember: not a member.
func receiptNotAMember(t *testing.T, open Opener) {
	ctx := context.Background()
	s, rs := receiptStores(t, open)
	u := newUsers(t, s, "nm", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	if _, _, err := rs.AdvanceReceipt(ctx, c.ID, u[2], 1, 1); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("stranger: %v", err)
	}
	if _, _, err := rs.AdvanceReceipt(ctx, parley.NewID(), u[0], 1, 1); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("no such conversation: %v", err)
	}
}

// receiptConcurrentAdvancesKeepTheMaximum: concurrent advances keep the maximum.
func receiptConcurrentAdvancesKeepTheMaximum(t *testing.T, open Opener) {
	ctx := context.Background()
	s, rs := receiptStores(t, open)
	u := newUsers(t, s, "cc", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	appendN(t, s, c.ID, u[0], 30)
	var wg sync.WaitGroup
	for i := 1; i <= 31; i++ {
		wg.Add(1)
		go func(seq int64) {
			defer wg.Done()
			if _, _, err := rs.AdvanceReceipt(ctx, c.ID, u[1], seq, seq/2); err != nil {
				t.Errorf("advance %d: %v", seq, err)
			}
		}(int64(i))
	}
	wg.Wait()
	m, err := s.Member(ctx, c.ID, u[1])
	if err != nil || m.DeliveredSeq != 31 || m.ReadSeq != 15 {
		t.Fatalf("after concurrent advances: %+v %v", m, err)
	}
}

// receiptConversationStates: conversation states.
func receiptConversationStates(t *testing.T, open Opener) {
	ctx := context.Background()
	s, rs := receiptStores(t, open)
	u := newUsers(t, s, "cs", 3)
	a := newConversation(t, s, parley.KindGroup, "a", u[0], u[1])
	b := newConversation(t, s, parley.KindGroup, "b", u[1], u[2])
	newConversation(t, s, parley.KindGroup, "c", u[0], u[2])
	appendN(t, s, a.ID, u[0], 3)
	if _, _, err := rs.AdvanceReceipt(ctx, a.ID, u[1], 3, 2); err != nil {
		t.Fatal(err)
	}
	st, err := rs.ConversationStates(ctx, u[1])
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(st, func(i, j int) bool { return st[i].ConversationID == a.ID })
	if len(st) != 2 || st[0] != (parley.ConversationState{ConversationID: a.ID, LastSeq: 4, DeliveredSeq: 3, ReadSeq: 2}) ||
		st[1] != (parley.ConversationState{ConversationID: b.ID, LastSeq: 1}) {
		t.Fatalf("states = %+v", st)
	}
	none, err := rs.ConversationStates(ctx, parley.NewID())
	if err != nil || len(none) != 0 {
		t.Fatalf("states of a stranger: %v %v", none, err)
	}
}

// receiptSharedUsers: shared users.
func receiptSharedUsers(t *testing.T, open Opener) {
	ctx := context.Background()
	s, rs := receiptStores(t, open)
	u := newUsers(t, s, "su", 4)
	newConversation(t, s, parley.KindGroup, "a", u[0], u[1])
	newConversation(t, s, parley.KindGroup, "b", u[0], u[2])
	newConversation(t, s, parley.KindGroup, "c", u[2], u[3])
	got, err := rs.SharedUsers(ctx, u[0], []string{u[1], u[2], u[3], parley.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{u[1], u[2]}
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("shared users = %v, want %v", got, want)
	}
	if got, err := rs.SharedUsers(ctx, u[1], nil); err != nil || len(got) != 0 {
		t.Fatalf("no candidates: %v %v", got, err)
	}
}

// receiptStores opens a store and its parley.ReceiptStore side (skipping
// stores without one).
func receiptStores(t *testing.T, open Opener) (parley.Store, parley.ReceiptStore) {
	s := open(t)
	rs, ok := s.(parley.ReceiptStore)
	if !ok {
		t.Skip("store does not implement parley.ReceiptStore yet")
	}
	return s, rs
}

// appendN appends n user messages from sender to conv.
func appendN(t *testing.T, s parley.Store, conv, sender string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		m := userMsg(conv, sender, fmt.Sprintf("%s-%d-%s", conv[:6], i, parley.NewID()), "hi")
		if _, _, err := s.AppendMessage(context.Background(), m, parley.CheckMember, nil); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}
