package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// history: paginated history reads on one conversation of H messages.
// Seeding goes through the WebSocket send path (Senders connections with a
// window of in-flight sends each); reads are REST pages of PageSize messages
// before a random seq, offered open-loop on the rate ladder, latency from
// the scheduled time to the complete response.
func (r *runner) history(ctx context.Context) error {
	h := r.cfg.HistoryMessages
	r.rep.Params["history_messages"] = h
	r.rep.Params["page_size"] = r.cfg.PageSize
	r.rep.Params["readers"] = r.cfg.Readers
	r.setParams()
	ns := max(1, r.cfg.Senders)
	users, err := r.createUsers(ctx, ns+1)
	if err != nil {
		return err
	}
	conv, err := r.createConversation(ctx, users[0], "group", users)
	if err != nil {
		return err
	}
	last, err := r.seed(ctx, users[1:], conv, h)
	if err != nil {
		return err
	}
	// Reads: a pool of Readers goroutines fed open-loop by the ladder.
	r.prepareSteps(0)
	type read struct {
		s        *Step
		n, sched int64
	}
	ch := make(chan read, 1<<16)
	tok := users[0].Token
	for w := 0; w < r.cfg.Readers; w++ {
		go func(w int) {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			var page struct {
				Messages []struct {
					Seq int64 `json:"seq"`
				} `json:"messages"`
			}
			for j := range ch {
				before := 1 + rng.Int64N(max(1, last))
				q := url.Values{"before": {strconv.FormatInt(before+1, 10)}, "limit": {strconv.Itoa(r.cfg.PageSize)}}
				j.s.MarkSent(time.Now().UnixNano())
				page.Messages = page.Messages[:0]
				err := r.rest.Do(ctx, "GET", "/api/v1/conversations/"+conv+"/messages?"+q.Encode(), tok, nil, &page)
				if err != nil {
					j.s.SendErrs.Add(1)
					r.countErr(errCode(err))
					continue
				}
				if len(page.Messages) == 0 {
					j.s.SendErrs.Add(1)
					r.countErr("empty_page")
					continue
				}
				j.s.MarkAck(w, j.n, j.sched, time.Now().UnixNano())
			}
		}(w)
	}
	defer close(ch)
	r.runLadder(ctx, "pages", func(s *Step, n, sched int64) {
		select {
		case ch <- read{s: s, n: n, sched: sched}:
		default:
			s.GenDrops.Add(1)
		}
	})
	return nil
}

// seed fills conversation conv with h messages through the WebSocket send
// path and returns the last seq.
func (r *runner) seed(ctx context.Context, senders []user, conv string, h int) (int64, error) {
	const window = 64
	conns := make([]*conn, len(senders))
	for i := range senders {
		c, _, err := r.connect(ctx, &senders[i], i)
		if err != nil {
			closeRaw(conns)
			return 0, err
		}
		conns[i] = c
	}
	defer closeRaw(conns)
	var next, acked, failed, lastSeq atomic.Int64
	t0 := time.Now()
	stop := r.progress(func() string {
		el := time.Since(t0).Seconds()
		return fmt.Sprintf("seeding %d/%d messages (%.0f/s)", acked.Load(), h, float64(acked.Load())/el)
	})
	errc := make(chan error, len(conns))
	for _, c := range conns {
		go func(c *conn) {
			// Reader: count acks and free window slots.
			slots := make(chan struct{}, window)
			go func() {
				for {
					b, err := c.ws.ReadFrame()
					if err != nil {
						close(slots)
						return
					}
					f, ok := parseFrame(b)
					if !ok {
						continue
					}
					switch f.Type {
					case "ack":
						acked.Add(1)
						atomicMax(&lastSeq, f.Seq)
						slots <- struct{}{}
					case "error":
						failed.Add(1)
						r.countErr(f.ErrCode)
						slots <- struct{}{}
					}
				}
			}()
			buf := make([]byte, 0, 512)
			inflight := 0
			for {
				i := next.Add(1) - 1
				if i >= int64(h) || ctx.Err() != nil {
					break
				}
				if inflight == window {
					if _, ok := <-slots; !ok {
						errc <- fmt.Errorf("seeding connection closed")
						return
					}
					inflight--
				}
				id := r.cfg.Prefix + "-seed-" + strconv.FormatInt(i, 10)
				body := fmt.Appendf(nil, "history message %d %s", i, padding)
				buf = appendSendFrame(buf[:0], id, conv, id, body)
				if err := c.ws.WriteText(buf); err != nil {
					errc <- err
					return
				}
				inflight++
			}
			for ; inflight > 0; inflight-- {
				if _, ok := <-slots; !ok {
					break
				}
			}
			errc <- nil
		}(c)
	}
	var first error
	for range conns {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	stop()
	el := time.Since(t0)
	r.rep.Setup["seeded"] = acked.Load()
	r.rep.Setup["seed_failed"] = failed.Load()
	r.rep.Setup["seed_s"] = round2(el.Seconds())
	r.rep.Setup["seed_msg_s"] = round2(float64(acked.Load()) / el.Seconds())
	r.printf("seeded %d messages (%d failed) in %v (%.0f msg/s, %d senders × %d in flight)\n",
		acked.Load(), failed.Load(), el.Round(time.Millisecond), float64(acked.Load())/el.Seconds(), len(conns), window)
	return lastSeq.Load(), first
}

// closeRaw closes connections that have no serve goroutine.
func closeRaw(conns []*conn) {
	for _, c := range conns {
		if c != nil {
			c.closed.Store(true)
			c.ws.Close()
		}
	}
}
