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

// BenchmarkAppendSpread is the dm shape of `parley bench dm` at the store:
// 1,000 two-member conversations, and concurrent senders whose consecutive
// messages go to different conversations, so a batch touches as many
// conversations as it has messages (BenchmarkAppendMessage's 16 groups hide
// that per-conversation cost).
func BenchmarkAppendSpread(b *testing.B) {
	for _, senders := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const convs = 1000
			type pair struct{ conv, sender string }
			pairs := make([]pair, convs)
			for i := range pairs {
				c, u := seedConversationPrefix(b, s, 2, 2*i)
				pairs[i] = pair{c, u[0]}
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			body := "a typical chat message of about sixty bytes, give or take."
			b.ResetTimer()
			start := time.Now()
			for range senders {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						p := pairs[i%convs]
						m := parley.Message{ID: parley.NewID(), ConversationID: p.conv, SenderID: p.sender,
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
