package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// BenchmarkAppendIndexCost measures what the trigram search index
// (messages_body_trgm, migration 0020) costs the send path: 256 concurrent
// senders on one node into 16 group conversations, 60-byte bodies, with
// the index (index=trgm) and with it dropped (index=none). Run with -count
// and compare; the machine's load moves wall-clock figures a lot.
func BenchmarkAppendIndexCost(b *testing.B) {
	for _, index := range []string{"trgm", "none"} {
		b.Run("index="+index, func(b *testing.B) {
			u := pgtest.Schema(b)
			s := openURL(b, u)
			if index == "none" {
				conn, err := pgx.Connect(context.Background(), pgtest.ConnURL(u))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Exec(context.Background(), `DROP INDEX messages_body_trgm`); err != nil {
					b.Fatal(err)
				}
				_ = conn.Close(context.Background())
			}
			const convs, senders = 16, 256
			var convIDs []string
			var users [][]string
			for range convs {
				c, us := seed(b, s, senders/convs)
				convIDs, users = append(convIDs, c), append(users, us)
			}
			body := "a typical chat message of about sixty bytes, give or take."
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range senders {
				wg.Go(func() {
					conv, user := convIDs[w%convs], users[w%convs][w/convs]
					for {
						if next.Add(1) > int64(b.N) {
							return
						}
						m := parley.Message{ID: parley.NewID(), ConversationID: conv, SenderID: user,
							ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: body, CreatedAt: time.Now()}
						if _, _, err := s.AppendMessage(context.Background(), m, parley.CheckMember, nil); err != nil {
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
