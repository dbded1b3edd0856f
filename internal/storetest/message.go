package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func userMsg(conv, sender, client, body string) parley.Message {
	return parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: sender, ClientMsgID: client,
		Kind: parley.MessageUser, Body: body, CreatedAt: baseTime.Add(time.Minute)}
}

func testMessages(t *testing.T, open Opener) {
	t.Run("append and read", func(t *testing.T) { messageAppendAndRead(t, open) })
	t.Run("append refusals", func(t *testing.T) { messageAppendRefusals(t, open) })
	t.Run("idempotent client ids", func(t *testing.T) { messageIdempotentClientIds(t, open) })
	t.Run("concurrent senders are gap-free", func(t *testing.T) { messageConcurrentSendersAreGapFree(t, open) })
	t.Run("pipelined appends keep their order", func(t *testing.T) { messagePipelinedAppendsKeepTheirOrder(t, open) })
	t.Run("history pages", func(t *testing.T) { messageHistoryPages(t, open) })
	t.Run("history pages of a member", func(t *testing.T) { messageHistoryMember(t, open) })
	t.Run("missed messages of several conversations", func(t *testing.T) { messageMissed(t, open) })
	t.Run("edit delete react", func(t *testing.T) { messageEditDeleteReact(t, open) })
}

// messageAppendAndRead: append and read.
func messageAppendAndRead(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ar", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	var notified []parley.Message
	m := userMsg(c.ID, u[1], "k1", "hello @ar0")
	m.Mentions = []string{u[0]}
	got, created, err := s.AppendMessage(ctx, m, parley.CheckMember, func(m parley.Message) { notified = append(notified, m) })
	if err != nil || !created || got.Seq != 2 || got.ID != m.ID || got.Body != m.Body || len(got.Mentions) != 1 {
		t.Fatalf("append %+v %v %v", got, created, err)
	}
	if len(notified) != 1 || notified[0].Seq != 2 {
		t.Fatalf("notified %v", notified)
	}
	one, err := s.Message(ctx, c.ID, 2)
	if err != nil || one.Body != m.Body || one.SenderID != u[1] || one.ClientMsgID != "k1" || one.Kind != parley.MessageUser ||
		!one.CreatedAt.Equal(m.CreatedAt) || one.Mentions[0] != u[0] || one.EditedAt != nil || one.Deleted {
		t.Fatalf("message %+v %v", one, err)
	}
	byClient, err := s.MessageByClientID(ctx, u[1], "k1")
	if err != nil || byClient.Seq != 2 {
		t.Fatalf("by client %+v %v", byClient, err)
	}
	_, err = s.Message(ctx, c.ID, 3)
	wantCode(t, err, parley.CodeNotFound)
	sys, _ := s.Message(ctx, c.ID, 1)
	if sys.Kind != parley.MessageSystem || sys.System == nil || sys.System.Action != parley.SystemCreated {
		t.Fatalf("system message %+v", sys)
	}
	if conv, _ := s.Conversation(ctx, c.ID); conv.LastSeq != 2 || !conv.LastAt.Equal(m.CreatedAt) {
		t.Fatalf("conversation after append %+v", conv)
	}
}

// messageAppendRefusals: append refusals.
func messageAppendRefusals(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "rf", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	_, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[2], "x", "hi"), parley.CheckMember, nil)
	wantCode(t, err, parley.CodeNotFound)
	_, _, err = s.AppendMessage(ctx, userMsg(parley.NewID(), u[0], "x", "hi"), parley.CheckMember, nil)
	wantCode(t, err, parley.CodeNotFound)
	m := userMsg(c.ID, u[0], "x", "hi")
	m.ReplyTo = 5
	_, _, err = s.AppendMessage(ctx, m, parley.CheckMember, nil)
	wantCode(t, err, parley.CodeInvalid)
	m.ReplyTo = 1
	got, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
	if err != nil || got.ReplyTo != 1 || got.Seq != 2 {
		t.Fatalf("reply %+v %v", got, err)
	}
	// Same client id in another conversation is a conflict, not a duplicate.
	c2 := newConversation(t, s, parley.KindGroup, "g2", u[0])
	_, _, err = s.AppendMessage(ctx, userMsg(c2.ID, u[0], "x", "hi"), parley.CheckMember, nil)
	wantCode(t, err, parley.CodeConflict)
	// Broadcast channels refuse plain members.
	b := parley.Conversation{ID: parley.NewID(), Kind: parley.KindChannel, Broadcast: true, Public: true, CreatedBy: u[0],
		CreatedAt: baseTime, UpdatedAt: baseTime}
	if _, err := s.CreateConversation(ctx, b, []parley.Member{{UserID: u[0], Role: parley.RoleOwner, JoinedAt: baseTime},
		{UserID: u[1], Role: parley.RoleMember, JoinedAt: baseTime}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.AppendMessage(ctx, userMsg(b.ID, u[1], "y", "hi"), parley.CheckMember, nil)
	wantCode(t, err, parley.CodeForbidden)
	if _, _, err = s.AppendMessage(ctx, userMsg(b.ID, u[0], "y", "hi"), parley.CheckMember, nil); err != nil {
		t.Fatal(err)
	}
	// A removed member can no longer post.
	if _, err := s.RemoveMember(ctx, c.ID, u[1], systemMsg(u[0], parley.SystemMemberRemoved, u[1]), nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.AppendMessage(ctx, userMsg(c.ID, u[1], "z", "hi"), parley.CheckMember, nil)
	wantCode(t, err, parley.CodeNotFound)
}

// messageIdempotentClientIds: idempotent client ids.
func messageIdempotentClientIds(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "id", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	first, created, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], "same", "one"), parley.CheckMember, nil)
	if err != nil || !created {
		t.Fatal(err)
	}
	notified := 0
	again, created, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], "same", "two"), parley.CheckMember,
		func(parley.Message) { notified++ })
	if err != nil || created || again.ID != first.ID || again.Seq != first.Seq || again.Body != "one" || notified != 0 {
		t.Fatalf("resend %+v %v %v notified %d", again, created, err, notified)
	}
	// Another sender may use the same client id.
	other, created, err := s.AppendMessage(ctx, userMsg(c.ID, u[1], "same", "three"), parley.CheckMember, nil)
	if err != nil || !created || other.Seq != first.Seq+1 {
		t.Fatalf("other sender %+v %v %v", other, created, err)
	}
	// Concurrent duplicates (likely in one batch) still yield one message.
	var wg sync.WaitGroup
	results := make([]parley.Message, 32)
	createdN := make([]bool, 32)
	for i := range results {
		wg.Go(func() {
			m, c, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], "burst", fmt.Sprint(i)), parley.CheckMember, nil)
			if err != nil {
				t.Error(err)
			}
			results[i], createdN[i] = m, c
		})
	}
	wg.Wait()
	nc := 0
	for i, m := range results {
		if createdN[i] {
			nc++
		}
		if m.ID != results[0].ID || m.Seq != results[0].Seq {
			t.Fatalf("burst result %d = %+v, want %+v", i, m, results[0])
		}
	}
	if nc != 1 {
		t.Fatalf("%d of the burst report created, want 1", nc)
	}
	h, _ := s.History(ctx, c.ID, parley.HistoryQuery{Limit: 100})
	checkGapFree(t, h, 4)
}

// messageConcurrentSendersAreGapFree: concurrent senders are gap-free.
func messageConcurrentSendersAreGapFree(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	const senders, each = 16, 25
	u := newUsers(t, s, "cs", senders)
	c := newConversation(t, s, parley.KindGroup, "g", u...)
	c2 := newConversation(t, s, parley.KindGroup, "g2", u...)
	var mu sync.Mutex
	var order []int64 // seqs of c in notify order
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				conv := c.ID
				if j%3 == 0 {
					conv = c2.ID
				}
				_, _, err := s.AppendMessage(ctx, userMsg(conv, u[i], fmt.Sprint(j), "m"), parley.CheckMember,
					func(m parley.Message) {
						if m.ConversationID == c.ID {
							mu.Lock()
							order = append(order, m.Seq)
							mu.Unlock()
						}
					})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	conv, _ := s.Conversation(ctx, c.ID)
	var all []parley.Message
	after := int64(0)
	for {
		page, err := s.History(ctx, c.ID, parley.HistoryQuery{After: after, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	checkGapFree(t, all, int(conv.LastSeq))
	for i, seq := range order {
		if seq != int64(i+2) {
			t.Fatalf("notify order %v: position %d has seq %d", order, i, seq)
		}
	}
	conv2, _ := s.Conversation(ctx, c2.ID)
	if conv.LastSeq+conv2.LastSeq != senders*each+2 {
		t.Fatalf("last seqs %d + %d", conv.LastSeq, conv2.LastSeq)
	}
}

// messagePipelinedAppendsKeepTheirOrder: pipelined appends keep their order.
func messagePipelinedAppendsKeepTheirOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	// One sender pipelines: each append starts as soon as the previous
	// one's place in the commit order is fixed (parley.Queued), not when
	// it is durable. Interleaved with another sender's writes, and with
	// some appends refused, the pipelined ones must commit in call order.
	s := open(t)
	u := newUsers(t, s, "pl", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	const n = 60
	stop := make(chan struct{})
	var other sync.WaitGroup
	other.Go(func() { // a second sender keeps batches mixed
		for j := 0; ; j++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[1], fmt.Sprint("o", j), "other"), parley.CheckMember, nil); err != nil {
				t.Error(err)
				return
			}
		}
	})
	type result struct {
		m       parley.Message
		err     error
		queued  bool // the hook ran before AppendMessage returned
		created bool
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		queued := make(chan struct{})
		var once sync.Once
		mark := func() { once.Do(func() { close(queued) }) }
		sender := u[0]
		if i%10 == 7 {
			sender = u[2] // not a member: refused before it is queued
		}
		qctx := parley.WithQueued(ctx, func() { results[i].queued = true; mark() })
		wg.Go(func() {
			defer mark()
			m, created, err := s.AppendMessage(qctx, userMsg(c.ID, sender, fmt.Sprint("p", i), fmt.Sprint(i)), parley.CheckMember, nil)
			results[i].m, results[i].created, results[i].err = m, created, err
		})
		<-queued
	}
	wg.Wait()
	close(stop)
	other.Wait()
	last := int64(0)
	for i, r := range results {
		if i%10 == 7 {
			wantCode(t, r.err, parley.CodeNotFound)
			continue
		}
		if r.err != nil || !r.created {
			t.Fatalf("append %d: %v created=%v", i, r.err, r.created)
		}
		if !r.queued {
			t.Fatalf("append %d returned without calling parley.Queued", i)
		}
		if r.m.Seq <= last {
			t.Fatalf("append %d got seq %d after seq %d: pipelined appends reordered", i, r.m.Seq, last)
		}
		last = r.m.Seq
	}
}

// messageHistoryPages: history pages.
func messageHistoryPages(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "hp", 1)
	c := newConversation(t, s, parley.KindGroup, "g", u[0])
	for i := range 9 {
		if _, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], fmt.Sprint(i), fmt.Sprint(i)), parley.CheckMember, nil); err != nil {
			t.Fatal(err)
		}
	}
	newest, err := s.History(ctx, c.ID, parley.HistoryQuery{Before: 11, Limit: 3})
	if err != nil || len(newest) != 3 || newest[0].Seq != 10 || newest[2].Seq != 8 {
		t.Fatalf("before %v %v", newest, err)
	}
	older, _ := s.History(ctx, c.ID, parley.HistoryQuery{Before: 3, Limit: 3})
	if len(older) != 2 || older[0].Seq != 2 || older[1].Seq != 1 {
		t.Fatalf("older %v", older)
	}
	after, _ := s.History(ctx, c.ID, parley.HistoryQuery{After: 8, Limit: 5})
	if len(after) != 2 || after[0].Seq != 9 || after[1].Seq != 10 {
		t.Fatalf("after %v", after)
	}
	empty, err := s.History(ctx, parley.NewID(), parley.HistoryQuery{Limit: 5})
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("unknown conversation history %v %v", empty, err)
	}
}

// messageHistoryMember: HistoryQuery.Member returns the page to a member
// only; a removed member reads nothing from the removal's commit on.
func messageHistoryMember(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "hm", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	for i := range 4 {
		if _, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], fmt.Sprint(i), fmt.Sprint(i)), parley.CheckMember, nil); err != nil {
			t.Fatal(err)
		}
	}
	page := func(who string, q parley.HistoryQuery) []parley.Message {
		t.Helper()
		q.Member, q.Limit = who, 10
		ms, err := s.History(ctx, c.ID, q)
		if err != nil || ms == nil {
			t.Fatalf("history of %s %+v: %v %v", who, q, ms, err)
		}
		return ms
	}
	if ms := page(u[1], parley.HistoryQuery{After: 2}); len(ms) != 3 || ms[0].Seq != 3 || ms[2].Seq != 5 {
		t.Fatalf("member, after 2: %v", ms)
	}
	if ms := page(u[1], parley.HistoryQuery{Before: 4}); len(ms) != 3 || ms[0].Seq != 3 || ms[2].Seq != 1 {
		t.Fatalf("member, before 4: %v", ms)
	}
	if ms := page(u[2], parley.HistoryQuery{After: 0}); len(ms) != 0 {
		t.Fatalf("non-member, after 0: %v", ms)
	}
	// Reactions come with the page, on either side of the cursor, with or
	// without Member; a page beside the reacted message has none.
	if _, err := s.React(ctx, c.ID, 2, u[1], "👍", true, 20, baseTime, nil); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{u[1], ""} {
		if ms := page(who, parley.HistoryQuery{After: 1}); len(ms) != 4 || len(ms[0].Reactions) != 1 || len(ms[1].Reactions) != 0 {
			t.Fatalf("%q, after 1: %+v", who, ms)
		}
		if ms := page(who, parley.HistoryQuery{Before: 4}); len(ms) != 3 || len(ms[1].Reactions) != 1 || ms[1].Seq != 2 {
			t.Fatalf("%q, before 4: %+v", who, ms)
		}
		if ms := page(who, parley.HistoryQuery{After: 2}); len(ms) != 3 || len(ms[0].Reactions)+len(ms[2].Reactions) != 0 {
			t.Fatalf("%q, after 2: %+v", who, ms)
		}
		if ms := page(who, parley.HistoryQuery{Before: 2}); len(ms) != 1 || len(ms[0].Reactions) != 0 {
			t.Fatalf("%q, before 2: %+v", who, ms)
		}
	}
	if ms := page(u[2], parley.HistoryQuery{Before: 100}); len(ms) != 0 {
		t.Fatalf("non-member, before 100: %v", ms)
	}
	if _, err := s.RemoveMember(ctx, c.ID, u[1], systemMsg(u[0], parley.SystemMemberRemoved, u[1]), nil); err != nil {
		t.Fatal(err)
	}
	if ms := page(u[1], parley.HistoryQuery{After: 0}); len(ms) != 0 {
		t.Fatalf("removed member, after 0: %v", ms)
	}
	if ms := page(u[1], parley.HistoryQuery{Before: 100}); len(ms) != 0 {
		t.Fatalf("removed member, before 100: %v", ms)
	}
	if ms := page(u[0], parley.HistoryQuery{After: 0}); len(ms) != 6 {
		t.Fatalf("remaining member after the removal: %d messages, want 6", len(ms))
	}
}

// messageMissed: Missed gives, range by range in the order asked, what
// History gives a member for the same seqs (reactions, edits and deletions
// included), nothing of a conversation the member is not in (never was,
// or removed) nor of an unknown one, and never a message past Until.
func messageMissed(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "mi", 3)
	a := newConversation(t, s, parley.KindGroup, "a", u[0], u[1])
	b := newConversation(t, s, parley.KindGroup, "b", u[0], u[1])
	other := newConversation(t, s, parley.KindGroup, "c", u[0], u[2])
	for conv, n := range map[string]int{a.ID: 6, b.ID: 3, other.ID: 2} {
		for i := range n {
			if _, _, err := s.AppendMessage(ctx, userMsg(conv, u[0], conv+fmt.Sprint(i), fmt.Sprint(i)), parley.CheckMember, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.React(ctx, a.ID, 4, u[1], "👍", true, 20, baseTime, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.React(ctx, b.ID, 3, u[0], "🎉", true, 20, baseTime, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EditMessage(ctx, a.ID, 5, "edited", nil, nil, baseTime.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteMessage(ctx, b.ID, 2, baseTime.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	missed := func(who string, ranges ...parley.SeqRange) []parley.Message {
		t.Helper()
		ms, err := s.Missed(ctx, who, ranges)
		if err != nil || ms == nil {
			t.Fatalf("missed of %s %+v: %v %v", who, ranges, ms, err)
		}
		return ms
	}
	ranges := []parley.SeqRange{
		{ConversationID: b.ID, After: 1, Until: 3},
		{ConversationID: other.ID, After: 0, Until: 3},
		{ConversationID: parley.NewID(), After: 0, Until: 5},
		{ConversationID: a.ID, After: 3, Until: 6}, // a's last seq is 7: 7 is not asked for
	}
	var want []parley.Message
	for _, r := range []parley.SeqRange{ranges[0], ranges[3]} {
		page, err := s.History(ctx, r.ConversationID, parley.HistoryQuery{After: r.After, Limit: int(r.Until - r.After), Member: u[1]})
		if err != nil || len(page) != int(r.Until-r.After) {
			t.Fatalf("history %+v: %d messages, %v", r, len(page), err)
		}
		want = append(want, page...)
	}
	got := missed(u[1], ranges...)
	if len(got) != len(want) {
		t.Fatalf("missed: %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ConversationID != w.ConversationID || g.Seq != w.Seq || g.ID != w.ID || g.Body != w.Body ||
			g.Deleted != w.Deleted || (g.EditedAt == nil) != (w.EditedAt == nil) || g.SenderID != w.SenderID ||
			!g.CreatedAt.Equal(w.CreatedAt) || fmt.Sprint(g.Reactions) != fmt.Sprint(w.Reactions) {
			t.Errorf("missed[%d] = %+v, want %+v", i, g, w)
		}
	}
	if got[0].ConversationID != b.ID || got[0].Seq != 2 || !got[0].Deleted || len(got[1].Reactions) != 1 ||
		got[2].ConversationID != a.ID || got[2].Seq != 4 || len(got[2].Reactions) != 1 || got[3].EditedAt == nil ||
		got[3].Body != "edited" || got[4].Seq != 6 {
		t.Fatalf("missed: %+v", got)
	}
	if ms := missed(u[2], ranges...); len(ms) != 3 || ms[0].ConversationID != other.ID || ms[2].Seq != 3 {
		t.Fatalf("missed of the other conversation's member: %+v", ms)
	}
	if ms := missed(u[1]); len(ms) != 0 {
		t.Fatalf("no ranges: %+v", ms)
	}
	if ms := missed(u[1], parley.SeqRange{ConversationID: a.ID, After: 7, Until: 9}); len(ms) != 0 {
		t.Fatalf("past the last message: %+v", ms)
	}
	// Ranges that overlap each give their messages, reactions included.
	twice := parley.SeqRange{ConversationID: a.ID, After: 3, Until: 5}
	if ms := missed(u[1], twice, twice); len(ms) != 4 || ms[0].Seq != 4 || ms[2].Seq != 4 ||
		len(ms[0].Reactions) != 1 || len(ms[2].Reactions) != 1 || ms[3].Body != "edited" {
		t.Fatalf("one range twice: %+v", ms)
	}
	if _, err := s.RemoveMember(ctx, a.ID, u[1], systemMsg(u[0], parley.SystemMemberRemoved, u[1]), nil); err != nil {
		t.Fatal(err)
	}
	if ms := missed(u[1], ranges...); len(ms) != 2 || ms[0].ConversationID != b.ID {
		t.Fatalf("missed after a's removal: %+v", ms)
	}
}

// messageEditDeleteReact: edit delete react.
func messageEditDeleteReact(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "ed", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u...)
	m, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], "e", "v1"), parley.CheckMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := baseTime.Add(2 * time.Hour)
	var edited []parley.Message
	e, err := s.EditMessage(ctx, c.ID, m.Seq, "v2", []string{u[1]}, nil, at, func(m parley.Message) { edited = append(edited, m) })
	if err != nil || e.Body != "v2" || e.EditedAt == nil || !e.EditedAt.Equal(at) || len(edited) != 1 || e.Mentions[0] != u[1] {
		t.Fatalf("edit %+v %v", e, err)
	}
	if _, err := s.EditMessage(ctx, c.ID, m.Seq, "v3", nil, nil, at.Add(time.Second), nil); err != nil {
		t.Fatal(err)
	}
	vs, err := s.MessageVersions(ctx, c.ID, m.Seq)
	if err != nil || len(vs) != 2 || vs[0].Body != "v1" || vs[1].Body != "v2" || vs[1].Mentions[0] != u[1] {
		t.Fatalf("versions %+v %v", vs, err)
	}
	_, err = s.EditMessage(ctx, c.ID, 99, "x", nil, nil, at, nil)
	wantCode(t, err, parley.CodeNotFound)

	var reacted [][]parley.Reaction
	note := func(rs []parley.Reaction) { reacted = append(reacted, rs) }
	for _, r := range []struct {
		user, emoji string
	}{{u[0], "👍"}, {u[1], "👍"}, {u[1], "🎉"}, {u[1], "👍"}} {
		if _, err := s.React(ctx, c.ID, m.Seq, r.user, r.emoji, true, 2, at, note); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.React(ctx, c.ID, m.Seq, u[2], "😀", true, 2, at, nil)
	wantCode(t, err, parley.CodeTooLarge)
	rs, err := s.React(ctx, c.ID, m.Seq, u[2], "🎉", true, 2, at, nil) // existing emoji: allowed
	if err != nil || len(rs) != 2 || rs[0].Count != 2 || rs[1].Count != 2 {
		t.Fatalf("reactions %+v %v", rs, err)
	}
	rs, err = s.React(ctx, c.ID, m.Seq, u[0], "👍", false, 2, at, nil)
	thumbs := rs[0]
	if len(rs) == 2 && rs[1].Emoji == "👍" {
		thumbs = rs[1]
	}
	if err != nil || thumbs.Count != 1 || thumbs.UserIDs[0] != u[1] {
		t.Fatalf("unreact %+v %v", rs, err)
	}
	// The repeated (u[1], 👍) changed nothing, so it notified nothing;
	// neither does removing a reaction that is not there.
	if len(reacted) != 3 {
		t.Fatalf("react notified %d times, want 3", len(reacted))
	}
	rs, err = s.React(ctx, c.ID, m.Seq, u[0], "👍", false, 2, at, note)
	if err != nil || len(rs) != 2 || len(reacted) != 3 {
		t.Fatalf("removing an absent reaction: %+v %v, %d notifications", rs, err, len(reacted))
	}
	if _, err := s.React(ctx, c.ID, m.Seq, u[0], "🎉", true, 2, at, note); err != nil || len(reacted) != 4 {
		t.Fatalf("a new reaction: %v, %d notifications", err, len(reacted))
	}
	if _, err := s.React(ctx, c.ID, m.Seq, u[0], "🎉", false, 2, at, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(ctx, c.ID, m.Seq)
	if len(got.Reactions) != 2 || got.Body != "v3" {
		t.Fatalf("message with reactions %+v", got)
	}
	h, _ := s.History(ctx, c.ID, parley.HistoryQuery{After: 0, Limit: 10})
	if len(h) != 2 || len(h[1].Reactions) != 2 {
		t.Fatalf("history reactions %+v", h)
	}

	var deleted []parley.Message
	d, err := s.DeleteMessage(ctx, c.ID, m.Seq, at, func(m parley.Message) { deleted = append(deleted, m) })
	if err != nil || !d.Deleted || d.Body != "" || d.Mentions != nil || d.Seq != m.Seq || len(deleted) != 1 {
		t.Fatalf("delete %+v %v", d, err)
	}
	d2, err := s.DeleteMessage(ctx, c.ID, m.Seq, at, func(m parley.Message) { deleted = append(deleted, m) })
	if err != nil || !d2.Deleted || len(deleted) != 1 {
		t.Fatalf("second delete %+v %v (notified %d)", d2, err, len(deleted))
	}
	got, _ = s.Message(ctx, c.ID, m.Seq)
	if !got.Deleted || got.Body != "" || len(got.Reactions) != 0 {
		t.Fatalf("tombstone %+v", got)
	}
	if vs, _ := s.MessageVersions(ctx, c.ID, m.Seq); len(vs) != 0 {
		t.Fatalf("versions survive delete: %v", vs)
	}
	_, err = s.EditMessage(ctx, c.ID, m.Seq, "back", nil, nil, at, nil)
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.React(ctx, c.ID, m.Seq, u[0], "👍", true, 2, at, nil)
	wantCode(t, err, parley.CodeNotFound)
	_, err = s.DeleteMessage(ctx, c.ID, 42, at, nil)
	wantCode(t, err, parley.CodeNotFound)
	// The tombstone keeps the sequence gap-free.
	n, _, err := s.AppendMessage(ctx, userMsg(c.ID, u[0], "after", "x"), parley.CheckMember, nil)
	if err != nil || n.Seq != m.Seq+1 {
		t.Fatalf("after delete %+v %v", n, err)
	}
}
