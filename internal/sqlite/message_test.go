package sqlite_test

import (
	"context"
	"fmt"
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
			ctx := context.Background()
			s, err := sqlite.Open(ctx, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const convs = 16
			var convIDs []string
			var users []string
			for range convs {
				c, u := seedConversationPrefix(b, s, senders/convs+1, len(users))
				convIDs = append(convIDs, c)
				users = append(users, u...)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			body := "a typical chat message of about sixty bytes, give or take."
			b.ResetTimer()
			start := time.Now()
			for w := range senders {
				wg.Go(func() {
					conv := convIDs[w%convs]
					user := users[(w%convs)*(senders/convs+1)+w/convs]
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: user,
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
		})
	}
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
