package sqlite_test

import (
	"context"
	"crypto/sha256"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/sqlite"
)

// seedReads opens a store holding one two-member conversation with 200
// messages and one session per member, for the read benchmarks.
func seedReads(b *testing.B) (*sqlite.Store, string, []string, []byte) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	conv, users := seedConversation(b, s, 2)
	for i := range 200 {
		m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: users[i%2],
			Kind: parley.MessageUser, Body: "a typical chat message of about sixty bytes, give or take.",
			CreatedAt: time.Now()}
		if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
			b.Fatal(err)
		}
	}
	h := sha256.Sum256([]byte("token"))
	now := time.Now()
	ss := parley.Session{ID: parley.NewID(), UserID: users[0], TokenHash: h[:], CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, ss); err != nil {
		b.Fatal(err)
	}
	return s, conv, users, h[:]
}

// BenchmarkSessionByTokenHash: the lookup behind every authenticated
// request and WebSocket auth.
func BenchmarkSessionByTokenHash(b *testing.B) {
	s, _, _, h := seedReads(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SessionByTokenHash(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMember: the membership/role check before most conversation reads
// and writes.
func BenchmarkMember(b *testing.B) {
	s, conv, users, _ := seedReads(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Member(ctx, conv, users[1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHistoryPage: a 50-message page before the newest message.
func BenchmarkHistoryPage(b *testing.B) {
	s, conv, _, _ := seedReads(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		ms, err := s.History(ctx, conv, parley.HistoryQuery{Before: 200, Limit: 50})
		if err != nil || len(ms) != 50 {
			b.Fatal(len(ms), err)
		}
	}
}

// BenchmarkConversationStates: the per-user state read on WebSocket resync.
func BenchmarkConversationStates(b *testing.B) {
	s, _, users, _ := seedReads(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ConversationStates(ctx, users[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuPerOp starts measuring the process's CPU time (user and system, every
// goroutine, GC included); the function it returns reports it per op as
// cpu-ns/op. On a shared machine that moves less with other processes' load
// than ns/op. Use: defer cpuPerOp(b)() right before the timed loop.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime(b)
	return func() { b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkHistoryCatchUp: a resync's socket page, the 2 messages after
// what the client holds, for a member (parley.HistoryQuery.Member).
func BenchmarkHistoryCatchUp(b *testing.B) {
	s, conv, users, _ := seedReads(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ms, err := s.History(ctx, conv, parley.HistoryQuery{After: 198, Limit: 50, Member: users[0]})
		if err != nil || len(ms) != 2 {
			b.Fatal(len(ms), err)
		}
	}
}

// BenchmarkMissed: a reconnecting storm client's catch-up, 2 messages in
// each of 4 conversations: one Missed read against a History read per
// conversation.
func BenchmarkMissed(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	var ranges []parley.SeqRange
	var member string
	for c := range 4 {
		conv, users := seedConversationPrefix(b, s, 2, 2*c)
		if member == "" {
			member = users[0]
		} else if _, err := s.AddMembers(ctx, conv, []parley.Member{{UserID: member, Role: parley.RoleMember, JoinedAt: time.Now()}}, 100,
			parley.Message{ID: parley.NewID(), SenderID: users[0], Kind: parley.MessageSystem, CreatedAt: time.Now(),
				System: &parley.SystemInfo{Action: parley.SystemMembersAdded, UserIDs: []string{member}}}, nil); err != nil {
			b.Fatal(err)
		}
		var last int64
		for i := range 20 {
			m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: users[i%2],
				Kind: parley.MessageUser, Body: "a typical chat message of about sixty bytes, give or take.", CreatedAt: time.Now()}
			got, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
			if err != nil {
				b.Fatal(err)
			}
			last = got.Seq
		}
		ranges = append(ranges, parley.SeqRange{ConversationID: conv, After: last - 2, Until: last})
	}
	b.Run("one read", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			if ms, err := s.Missed(ctx, member, ranges); err != nil || len(ms) != 8 {
				b.Fatal(len(ms), err)
			}
		}
	})
	b.Run("a read per conversation", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			for _, r := range ranges {
				if ms, err := s.History(ctx, r.ConversationID, parley.HistoryQuery{After: r.After, Limit: 2, Member: member}); err != nil || len(ms) != 2 {
					b.Fatal(len(ms), err)
				}
			}
		}
	})
}
