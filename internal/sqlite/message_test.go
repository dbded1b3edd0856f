package sqlite_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/sqlite"
)

func seedConversation(tb testing.TB, s *sqlite.Store, users int) (string, []string) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, users)
	var ms []parley.Member
	for i := range ids {
		ids[i] = parley.NewID()
		u := parley.User{ID: ids[i], Username: fmt.Sprintf("u%d", i), DisplayName: "u", Role: parley.UserRoleUser,
			CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(ctx, u, "x"); err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, parley.Member{UserID: ids[i], Role: parley.RoleMember, JoinedAt: now})
	}
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, Title: "bench", CreatedBy: ids[0],
		CreatedAt: now, UpdatedAt: now}
	if _, err := s.CreateConversation(ctx, c, ms, nil, nil); err != nil {
		tb.Fatal(err)
	}
	return c.ID, ids
}

// TestIdempotencyAcrossReopen: a resend after the store was closed and
// reopened returns the original message.
func TestIdempotencyAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	conv, users := seedConversation(t, s, 2)
	m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: users[0], ClientMsgID: "abc",
		Kind: parley.MessageUser, Body: "before restart", CreatedAt: time.Now()}
	first, created, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m.ID, m.Body = parley.NewID(), "after restart"
	again, created, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
	if err != nil || created || again.ID != first.ID || again.Body != "before restart" || again.Seq != first.Seq {
		t.Fatalf("resend after reopen: %+v created=%v err=%v", again, created, err)
	}
	next, created, err := s.AppendMessage(ctx, parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: users[1],
		ClientMsgID: "abc", Kind: parley.MessageUser, Body: "x", CreatedAt: time.Now()}, parley.CheckMember, nil)
	if err != nil || !created || next.Seq != first.Seq+1 {
		t.Fatalf("next after reopen: %+v %v %v", next, created, err)
	}
}

// TestClosedStoreRefusesAppends: an append after Close fails cleanly.
func TestClosedStoreRefusesAppends(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conv, users := seedConversation(t, s, 1)
	_ = s.Close()
	_, _, err = s.AppendMessage(ctx, parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: users[0],
		ClientMsgID: "x", Kind: parley.MessageUser, Body: "x", CreatedAt: time.Now()}, parley.CheckMember, nil)
	if !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("append after close: %v", err)
	}
}

// BenchmarkAppendMessage measures durable messages persisted per second
// (synchronous=FULL, WAL, group commit) with 1, 16 and 256 concurrent
// senders, each its own user, spread over 16 conversations, every message
// with a client_msg_id and the membership check, as the app sends them.
func BenchmarkAppendMessage(b *testing.B) {
	for _, senders := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			s := openBench(b)
			const convs = 16
			var ts []appendTarget
			for range convs {
				c, u := seedConversationPrefix(b, s, senders/convs+1, len(ts))
				for _, id := range u {
					ts = append(ts, appendTarget{c, id})
				}
			}
			benchAppend(b, s, senders, func(w int, _ int64) appendTarget {
				return ts[(w%convs)*(senders/convs+1)+w/convs]
			})
		})
	}
}

// BenchmarkAppendSpread is the dm shape of `parley bench dm` at the store:
// 1,000 two-member conversations, and concurrent senders whose consecutive
// messages go to different conversations, so a batch touches as many
// conversations as it has messages (BenchmarkAppendMessage's 16 groups hide
// that per-conversation cost).
func BenchmarkAppendSpread(b *testing.B) {
	for _, senders := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			s := openBench(b)
			ts := make([]appendTarget, 1000)
			for i := range ts {
				c, u := seedConversationPrefix(b, s, 2, 2*i)
				ts[i] = appendTarget{c, u[0]}
			}
			benchAppend(b, s, senders, func(_ int, i int64) appendTarget { return ts[i%int64(len(ts))] })
		})
	}
}

type appendTarget struct{ conv, sender string }

func openBench(b *testing.B) *sqlite.Store {
	s, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchAppend appends b.N messages from concurrent senders; message i of
// sender w goes where pick says. It reports msgs/s.
func benchAppend(b *testing.B, s *sqlite.Store, senders int, pick func(w int, i int64) appendTarget) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	body := "a typical chat message of about sixty bytes, give or take."
	b.ResetTimer()
	start := time.Now()
	for w := range senders {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t := pick(w, i)
				m := parley.Message{ID: parley.NewID(), ConversationID: t.conv, SenderID: t.sender,
					ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: body, CreatedAt: time.Now()}
				if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func seedConversationPrefix(tb testing.TB, s *sqlite.Store, users, offset int) (string, []string) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, users)
	var ms []parley.Member
	for i := range ids {
		ids[i] = parley.NewID()
		u := parley.User{ID: ids[i], Username: fmt.Sprintf("b%d", offset+i), DisplayName: "u", Role: parley.UserRoleUser,
			CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(ctx, u, "x"); err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, parley.Member{UserID: ids[i], Role: parley.RoleMember, JoinedAt: now})
	}
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, Title: "bench", CreatedBy: ids[0],
		CreatedAt: now, UpdatedAt: now}
	if _, err := s.CreateConversation(ctx, c, ms, nil, nil); err != nil {
		tb.Fatal(err)
	}
	return c.ID, ids
}

// TestAckedMessagesSurviveKill9 runs appenders in a child process, kills it
// with SIGKILL mid-stream, reopens the database and checks that every
// message the child saw acked is stored exactly once and the history is
// gap-free.
func TestAckedMessagesSurviveKill9(t *testing.T) {
	if dir := os.Getenv("PARLEY_KILL9_CHILD"); dir != "" {
		kill9Child(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	conv, users := seedConversation(t, s, 8)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAckedMessagesSurviveKill9$")
	cmd.Env = append(os.Environ(), "PARLEY_KILL9_CHILD="+dir, "PARLEY_KILL9_CONV="+conv,
		"PARLEY_KILL9_USERS="+strings.Join(users, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int64{} // client_msg_id → seq
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var client string
		var seq int64
		if _, err := fmt.Sscan(sc.Text(), &client, &seq); err != nil {
			continue
		}
		acked[client] = seq
		if len(acked) == 300 {
			_ = cmd.Process.Kill() // SIGKILL
			break
		}
	}
	_ = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acked only %d messages", len(acked))
	}
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for after := int64(0); ; {
		page, err := s.History(ctx, conv, parley.HistoryQuery{After: after, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			if m.Seq != after+1 {
				t.Fatalf("gap: seq %d after %d", m.Seq, after)
			}
			after = m.Seq
			if seen[m.ClientMsgID] {
				t.Fatalf("client id %s stored twice", m.ClientMsgID)
			}
			seen[m.ClientMsgID] = true
			if seq, ok := acked[m.ClientMsgID]; ok && seq != m.Seq {
				t.Fatalf("%s acked as seq %d, stored as %d", m.ClientMsgID, seq, m.Seq)
			}
		}
	}
	for client := range acked {
		if !seen[client] {
			t.Fatalf("acked message %s lost", client)
		}
	}
	t.Logf("%d acked before SIGKILL, %d stored (last seq %d)", len(acked), len(seen), c.LastSeq)
}

func kill9Child(dir string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	conv := os.Getenv("PARLEY_KILL9_CONV")
	users := strings.Split(os.Getenv("PARLEY_KILL9_USERS"), ",")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for {
				m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: u, ClientMsgID: parley.NewID(),
					Kind: parley.MessageUser, Body: "durable?", CreatedAt: time.Now()}
				got, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Println(got.ClientMsgID, got.Seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestHistoryRowsMatchMessage: a history page (one packed column per row,
// messagerow.go) reads every message exactly as Message (one column per
// field) does, including texts with the layout's separators, a NUL byte
// (which format() cuts: the row is read again) and every optional part.
func TestHistoryRowsMatchMessage(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conv, users := seedConversation(t, s, 2)
	at := time.Now()
	title := "new: title 3:x"
	for _, m := range []parley.Message{
		{Body: "plain"},
		{ClientMsgID: "12:ab 3", Body: "5:x 7 and a tail 9:"},
		{ClientMsgID: "nul", Body: "before\x00after"},
		{ClientMsgID: "\x00", Body: "x"},
		{ClientMsgID: "m", Body: "@u1 hi", Mentions: []string{users[1], users[0]}, ReplyTo: 1},
		{Kind: parley.MessageSystem, System: &parley.SystemInfo{Action: parley.SystemConversationUp, ActorID: users[0], Title: &title}},
		{ClientMsgID: "e", E2EE: json.RawMessage(`{"v":1,"c":"a b:c"}`)},
		{ClientMsgID: "edited", Body: "first"},
		{ClientMsgID: "deleted", Body: "gone"},
		{ClientMsgID: "reacted", Body: "👍 ünïcode"},
	} {
		m.ID, m.ConversationID, m.SenderID, m.CreatedAt = parley.NewID(), conv, users[0], at
		if m.Kind == "" {
			m.Kind = parley.MessageUser
		}
		if _, _, err := s.AppendMessage(ctx, m, parley.CheckNone, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EditMessage(ctx, conv, 8, "second", []string{users[1]}, nil, at.Add(time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteMessage(ctx, conv, 9, at.Add(2*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.React(ctx, conv, 10, users[1], "👍", true, 20, at, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []parley.HistoryQuery{{After: 0, Limit: 50}, {Before: 100, Limit: 50}} {
		page, err := s.History(ctx, conv, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 10 {
			t.Fatalf("%+v: %d messages, want 10", q, len(page))
		}
		for _, got := range page {
			want, err := s.Message(ctx, conv, got.Seq)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("seq %d:\nhistory %+v\nmessage %+v", got.Seq, got, want)
			}
		}
	}
}
