package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// BenchmarkAppendMessage measures durable appends per second with 1, 16 and
// 256 concurrent senders spread over two nodes (two Stores, each with its
// own pool and committer) on one database, into 16 group conversations, and
// the database round trips each message costs. Every append is acked only
// after PostgreSQL committed it (synchronous_commit as configured on the
// server; on by default).
//
//	PARLEY_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench AppendMessage -benchtime 100000x ./internal/postgres
func BenchmarkAppendMessage(b *testing.B) {
	for _, senders := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			ns := nodes(b, 2)
			const convs = 16
			per := (senders + convs - 1) / convs
			var convIDs []string
			var users [][]string
			for i := 0; i < convs; i++ {
				c, u := seed(b, ns[0], per)
				convIDs, users = append(convIDs, c), append(users, u)
			}
			body := "a typical chat message of about sixty bytes, give or take."
			before := []int64{ns[0].Stats().RoundTrips, ns[1].Stats().RoundTrips}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < senders; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := ns[w%2]
					conv, user := convIDs[w%convs], users[w%convs][w/convs]
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: user,
							ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: body, CreatedAt: time.Now()}
						if _, _, err := s.AppendMessage(context.Background(), m, parley.CheckMember, nil); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			trips := ns[0].Stats().RoundTrips - before[0] + ns[1].Stats().RoundTrips - before[1]
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(trips)/float64(b.N), "trips/msg")
		})
	}
}
