package xmpp_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/server"
)

// BenchmarkDM measures the dm shape over XMPP: 20 sender→receiver pairs of
// raw STARTTLS clients, each sender posting its share of b.N chat messages
// as fast as the server takes them; a message counts when its receiver has
// it. Reports msg/s.
//
//	go test ./internal/xmpp/ -run XXX -bench DM -benchtime 5000x
func BenchmarkDM(b *testing.B) {
	const pairs = 20
	env, addr := startXMPP(b, func(c *server.Config) { c.SendRate = 1e6; c.WSFrameRate = 1e6 })
	type pair struct{ s, r *raw }
	ps := make([]pair, pairs)
	for i := range ps {
		sn, rn := fmt.Sprintf("sender%d", i), fmt.Sprintf("receiver%d", i)
		env.NewUser(b, sn)
		env.NewUser(b, rn)
		ps[i] = pair{dialRaw(b, addr), dialRaw(b, addr)}
		ps[i].s.login(sn)
		ps[i].r.login(rn)
		ps[i].r.wait = 10 * time.Minute
	}
	per := b.N/pairs + 1
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(2)
		go func() {
			defer wg.Done()
			var sb strings.Builder
			for k := 0; k < per; k++ {
				fmt.Fprintf(&sb, `<message to='receiver%d@%s' type='chat' id='b%d-%d'><body>benchmark message %d</body></message>`, i, domain, i, k, k)
				if sb.Len() > 16<<10 || k == per-1 {
					p.s.send(sb.String())
					sb.Reset()
				}
			}
		}()
		go func() {
			defer wg.Done()
			p.r.expect(fmt.Sprintf("id=\"b%d-%d\"", i, per-1))
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(per*pairs)/el.Seconds(), "msg/s")
}
