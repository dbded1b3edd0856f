package sqlite

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// BenchmarkAppendIndexCost measures what the search index adds to the send
// path: the BenchmarkAppendSpread shape (1,000 two-member conversations,
// 256 concurrent senders, 60-byte bodies) with the background indexer
// writing its own database file (index=async, what the store does) and
// with no indexing at all (index=none), in the same
// process so that all see the same machine load. Reported: msgs/s (wall,
// appends only) and cpu_us/msg (user+system CPU of the whole process per
// message, from getrusage, including the indexing of every appended
// message), which is far less sensitive than wall time to other processes
// on a shared machine.
func BenchmarkAppendIndexCost(b *testing.B) {
	for _, index := range []string{"async", "async-automerge8", "async-automerge16", "none"} {
		b.Run("index="+index, func(b *testing.B) {
			defer func(v int) { indexAutomerge = v }(indexAutomerge)
			switch index {
			case "async-automerge8":
				indexAutomerge = 8
			case "async-automerge16":
				indexAutomerge = 16
			}
			s, err := Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			if index == "none" {
				s.stopIndexer()
			}
			ctx := context.Background()
			now := time.Now()
			type target struct{ conv, sender string }
			ts := make([]target, 1000)
			for i := range ts {
				var ms []parley.Member
				var ids []string
				for j := range 2 {
					id := parley.NewID()
					if err := s.CreateUser(ctx, parley.User{ID: id, Username: fmt.Sprintf("u%d-%d", i, j), DisplayName: "u",
						Role: parley.UserRoleUser, CreatedAt: now, UpdatedAt: now}, "x"); err != nil {
						b.Fatal(err)
					}
					ids = append(ids, id)
					ms = append(ms, parley.Member{UserID: id, Role: parley.RoleMember, JoinedAt: now})
				}
				c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, Title: "bench", CreatedBy: ids[0],
					CreatedAt: now, UpdatedAt: now}
				if _, err := s.CreateConversation(ctx, c, ms, nil, nil); err != nil {
					b.Fatal(err)
				}
				ts[i] = target{c.ID, ids[0]}
			}
			body := "a typical chat message of about sixty bytes, give or take."
			var next atomic.Int64
			var wg sync.WaitGroup
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			start := time.Now()
			for range 256 {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						t := ts[i%int64(len(ts))]
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
			elapsed := time.Since(start)
			if index != "none" {
				if err := s.IndexPending(ctx); err != nil {
					b.Fatal(err)
				}
			}
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu_us/msg")
		})
	}
}
