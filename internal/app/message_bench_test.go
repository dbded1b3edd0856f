package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// BenchmarkSendMessage measures the whole send use case — validation, rate
// limit, membership check, durable group commit (SQLite, synchronous=FULL),
// and publication of the `message` event on the in-process bus — with 1, 16
// and 256 concurrent senders, each its own user, spread over up to 16 groups.
func BenchmarkSendMessage(b *testing.B) {
	for _, senders := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			e := newMsgEnv(b, app.Limits{MessagesPerUserSecond: 1e9})
			e.discard = true
			ctx := context.Background()
			var actors []parley.Actor
			for i := range senders {
				actors = append(actors, e.user(b, fmt.Sprintf("sender%d", i)))
			}
			groups := min(senders, 16)
			convs := make([]string, groups)
			for g := range groups {
				var ids []string
				for i := g; i < senders; i += groups {
					ids = append(ids, actors[i].UserID)
				}
				c, _, err := e.app.CreateConversation(ctx, actors[g], app.CreateConversationInput{Kind: parley.KindGroup, MemberIDs: ids})
				if err != nil {
					b.Fatal(err)
				}
				convs[g] = c.ID
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range senders {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, _, err := e.app.SendMessage(ctx, actors[w], app.SendMessageInput{ConversationID: convs[w%groups],
							ClientMsgID: parley.NewID(), Body: "a typical chat message of about sixty bytes, give or take."}); err != nil {
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
