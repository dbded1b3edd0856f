package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/postgres"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// Tests of the guarantees that must hold when several nodes (several Stores,
// each with its own pool and committer) share one database.

// nodes opens n Stores on one fresh schema.
func nodes(t testing.TB, n int) []*postgres.Store {
	t.Helper()
	u := pgtest.Schema(t)
	out := make([]*postgres.Store, n)
	for i := range out {
		out[i] = openURL(t, u)
	}
	return out
}

// seed creates users and one group conversation holding all of them.
func seed(t testing.TB, s parley.Store, users int) (conv string, ids []string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	var members []parley.Member
	for i := 0; i < users; i++ {
		id := parley.NewID()
		u := parley.User{ID: id, Username: "u" + id, DisplayName: "u", Role: parley.UserRoleUser, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(ctx, u, "x"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		members = append(members, parley.Member{UserID: id, Role: parley.RoleMember, JoinedAt: now})
	}
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, Title: "g", CreatedBy: ids[0], CreatedAt: now, UpdatedAt: now}
	if _, err := s.CreateConversation(ctx, c, members, nil, nil); err != nil {
		t.Fatal(err)
	}
	return c.ID, ids
}

func msg(conv, sender, client string) parley.Message {
	return parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: sender, ClientMsgID: client,
		Kind: parley.MessageUser, Body: "hello " + client, CreatedAt: time.Now()}
}

// history reads a whole conversation, oldest first.
func history(t testing.TB, s parley.Store, conv string) []parley.Message {
	t.Helper()
	var all []parley.Message
	after := int64(0)
	for {
		page, err := s.History(context.Background(), conv, parley.HistoryQuery{After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
}

// checkGapFree fails unless the conversation's seqs are exactly 1..n.
func checkGapFree(t testing.TB, s parley.Store, conv string, n int) []parley.Message {
	t.Helper()
	all := history(t, s, conv)
	if len(all) != n {
		t.Fatalf("conversation holds %d messages, want %d", len(all), n)
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: the sequence has a gap or duplicate", i, m.Seq)
		}
	}
	c, err := s.Conversation(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	if c.LastSeq != int64(n) {
		t.Fatalf("last_seq %d, want %d", c.LastSeq, n)
	}
	return all
}

// sendConcurrently runs senders goroutines, each appending each messages
// (client ids "%02d-%02d" of sender and index, in order) to the store and
// conversation pick gives it as that user, and returns every ack by
// message id. Failures are reported with t.Errorf.
func sendConcurrently(t *testing.T, senders, each int, pick func(w int) (s *postgres.Store, conv, user string)) map[string]parley.Message {
	var mu sync.Mutex
	acked := map[string]parley.Message{}
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, conv, user := pick(w)
			for i := range each {
				m, ok, err := s.AppendMessage(context.Background(), msg(conv, user, fmt.Sprintf("%02d-%02d", w, i)), parley.CheckMember, nil)
				if err != nil || !ok {
					t.Errorf("sender %d message %d: created=%v err=%v", w, i, ok, err)
					return
				}
				mu.Lock()
				acked[m.ID] = m
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acked
}

// The same client_msg_id sent to two nodes at the same moment yields one
// message; both callers get it back.
func TestSameClientMsgIDOnTwoNodesYieldsOneMessage(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	conv, users := seed(t, ns[0], 2)
	const rounds = 200
	var created atomic.Int64
	for i := 0; i < rounds; i++ {
		client := fmt.Sprintf("c%d", i)
		var wg sync.WaitGroup
		got := make([]parley.Message, 2)
		for n := range ns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, ok, err := ns[n].AppendMessage(context.Background(), msg(conv, users[i%2], client), parley.CheckMember, nil)
				if err != nil {
					t.Errorf("node %d: %v", n, err)
					return
				}
				if ok {
					created.Add(1)
				}
				got[n] = m
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		if got[0].ID != got[1].ID || got[0].Seq != got[1].Seq {
			t.Fatalf("round %d: nodes returned different messages %+v and %+v", i, got[0], got[1])
		}
	}
	if created.Load() != rounds {
		t.Fatalf("%d messages created, want %d", created.Load(), rounds)
	}
	checkGapFree(t, ns[1], conv, rounds)
}

// The same client_msg_id sent at once to two different conversations on two
// nodes: one wins, the other is refused with conflict, and neither
// conversation gets a gap.
func TestSameClientMsgIDInTwoConversationsOnTwoNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	conv1, users := seed(t, ns[0], 1)
	now := time.Now()
	conv2 := parley.NewID()
	if _, err := ns[0].CreateConversation(context.Background(), parley.Conversation{ID: conv2, Kind: parley.KindGroup,
		CreatedBy: users[0], CreatedAt: now, UpdatedAt: now},
		[]parley.Member{{UserID: users[0], Role: parley.RoleOwner, JoinedAt: now}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	const rounds = 100
	wins := map[string]int{}
	for i := 0; i < rounds; i++ {
		client := fmt.Sprintf("x%d", i)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for n, conv := range []string{conv1, conv2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[n] = ns[n].AppendMessage(context.Background(), msg(conv, users[0], client), parley.CheckMember, nil)
			}()
		}
		wg.Wait()
		switch {
		case errs[0] == nil && parley.IsCode(errs[1], parley.CodeConflict):
			wins[conv1]++
		case errs[1] == nil && parley.IsCode(errs[0], parley.CodeConflict):
			wins[conv2]++
		default:
			t.Fatalf("round %d: got %v and %v, want one success and one conflict", i, errs[0], errs[1])
		}
	}
	checkGapFree(t, ns[0], conv1, wins[conv1])
	checkGapFree(t, ns[1], conv2, wins[conv2])
}

// Many senders on three nodes writing into shared conversations: every
// acked message is stored exactly once with the seq it was acked with, and
// every conversation's seqs are gap-free.
func TestConcurrentSendersOnThreeNodesAreGapFree(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3)
	const convs, senders, each = 3, 48, 40
	var convIDs []string
	var users [][]string
	for i := 0; i < convs; i++ {
		c, u := seed(t, ns[0], senders/convs)
		convIDs, users = append(convIDs, c), append(users, u)
	}
	acked := sendConcurrently(t, senders, each, func(w int) (*postgres.Store, string, string) {
		return ns[w%len(ns)], convIDs[w%convs], users[w%convs][w/convs]
	})
	if t.Failed() {
		return
	}
	total := 0
	for _, conv := range convIDs {
		all := checkGapFree(t, ns[1], conv, senders/convs*each)
		for _, m := range all {
			a, ok := acked[m.ID]
			if !ok || a.Seq != m.Seq || a.ClientMsgID != m.ClientMsgID {
				t.Fatalf("stored message %+v does not match its ack %+v", m, a)
			}
		}
		total += len(all)
	}
	if total != len(acked) {
		t.Fatalf("%d stored, %d acked", total, len(acked))
	}
}

// Commit hooks run in seq order per conversation on each node, even when
// the node's appends are batched.
func TestNotifyInSeqOrderPerNode(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	conv, users := seed(t, ns[0], 8)
	var mu sync.Mutex
	seen := make([][]int64, len(ns))
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := w % len(ns)
			for i := 0; i < 30; i++ {
				_, _, err := ns[n].AppendMessage(context.Background(), msg(conv, users[w%len(users)], fmt.Sprintf("%d-%d", w, i)),
					parley.CheckMember, func(m parley.Message) {
						mu.Lock()
						seen[n] = append(seen[n], m.Seq)
						mu.Unlock()
					})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for n, seqs := range seen {
		if !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }) {
			t.Fatalf("node %d notified seqs out of order: %v", n, seqs)
		}
		total += len(seqs)
	}
	if total != 16*30 {
		t.Fatalf("%d notifications, want %d", total, 16*30)
	}
}

// Appends under load cost well under one database round trip each.
func TestBatchedAppendsCostFewRoundTrips(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 1)
	s := ns[0]
	conv, users := seed(t, s, 64)
	before := s.Stats()
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if _, _, err := s.AppendMessage(context.Background(), msg(conv, users[w], fmt.Sprintf("%d-%d", w, i)), parley.CheckMember, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	after := s.Stats()
	msgs, trips := after.Appends-before.Appends, after.RoundTrips-before.RoundTrips
	if msgs != 64*40 {
		t.Fatalf("%d appends counted, want %d", msgs, 64*40)
	}
	t.Logf("%d messages, %d round trips, %d batches", msgs, trips, after.Batches-before.Batches)
	if float64(trips)/float64(msgs) >= 0.5 {
		t.Fatalf("%.2f round trips per message under 64 concurrent senders; want well under 1", float64(trips)/float64(msgs))
	}
}

// Reactions from two nodes to one message while appends continue: every
// reaction is kept, and each node publishes the reaction lists in commit
// order (each list holds one more reaction than the one before).
func TestReactionsOnTwoNodesWhileAppending(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2)
	conv, users := seed(t, ns[0], 10)
	ctx := context.Background()
	target, _, err := ns[0].AppendMessage(ctx, msg(conv, users[0], "target"), parley.CheckMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := make([][]int, 2)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(2)
		go func() {
			defer wg.Done()
			n := i % 2
			_, err := ns[n].React(ctx, conv, target.Seq, u, "👍", true, 50, time.Now(), func(rs []parley.Reaction) {
				mu.Lock()
				counts[n] = append(counts[n], rs[0].Count)
				mu.Unlock()
			})
			if err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, _, err := ns[(i+1)%2].AppendMessage(ctx, msg(conv, u, fmt.Sprintf("%d-%d", i, j)), parley.CheckMember, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	m, err := ns[1].Message(ctx, conv, target.Seq)
	if err != nil || len(m.Reactions) != 1 || m.Reactions[0].Count != len(users) {
		t.Fatalf("reactions %+v, %v; want %d", m.Reactions, err, len(users))
	}
	for n, cs := range counts {
		for i := 1; i < len(cs); i++ {
			if cs[i] <= cs[i-1] {
				t.Fatalf("node %d published reaction counts out of commit order: %v", n, cs)
			}
		}
	}
	checkGapFree(t, ns[0], conv, 1+len(users)*5)
}
