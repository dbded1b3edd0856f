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
	// The server limits each user's send rate (50/s by default), so seeding
	// fast takes many users.
	ns := max(1, r.cfg.SeedUsers)
	users, err := r.createUsers(ctx, ns+1)
	if err != nil {
		return err
	}
	var conv string
	var last int64
	if r.cfg.HistoryConv != "" {
		// Reuse a conversation seeded by an earlier run (users[0] is a member).
		conv = r.cfg.HistoryConv
		var c conversationResp
		if err := r.rest.Do(ctx, "GET", "/api/v1/conversations/"+conv, users[0].Token, nil, &c); err != nil {
			return fmt.Errorf("--history-conv: %w", err)
		}
		last = c.LastSeq
		r.rep.Params["history_conversation"] = conv
	} else {
		if conv, err = r.createConversation(ctx, users[0], "group", users); err != nil {
			return err
		}
		if last, err = r.seed(ctx, users[1:], conv, h); err != nil {
			return err
		}
	}
	r.rep.Summary["conversation_messages"] = last
	r.printf("conversation %s holds %d messages\n", conv, last)
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
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano()))) // #nosec G115 G404 -- load-generator randomness; w is a small worker index
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

// seed fills conversation conv with h messages and returns the last seq.
// It posts over REST with SeedConns concurrent requests spread over the
// sender users: no WebSocket is connected to the conversation, so seeding
// costs persistence only, not fan-out.
func (r *runner) seed(ctx context.Context, senders []user, conv string, h int) (int64, error) {
	var next, acked, lastSeq atomic.Int64
	t0 := time.Now()
	stop := r.progress(func() string {
		el := time.Since(t0).Seconds()
		return fmt.Sprintf("seeding %d/%d messages (%.0f/s)", acked.Load(), h, float64(acked.Load())/el)
	})
	nc := max(1, r.cfg.SeedConns)
	err := parallel(ctx, nc, nc, func(ctx context.Context, w int) error {
		u := senders[w%len(senders)]
		for {
			i := next.Add(1) - 1
			if i >= int64(h) {
				return nil
			}
			var m struct {
				Seq int64 `json:"seq"`
			}
			in := map[string]string{
				"client_msg_id": r.cfg.Prefix + "-seed-" + strconv.FormatInt(i, 10),
				"body":          fmt.Sprintf("history message %d %s", i, padding),
			}
			if err := retry(ctx, func() error {
				return r.rest.Do(ctx, "POST", "/api/v1/conversations/"+conv+"/messages", u.Token, in, &m)
			}); err != nil {
				r.countErr(errCode(err))
				return fmt.Errorf("seed message %d: %w", i, err)
			}
			acked.Add(1)
			atomicMax(&lastSeq, m.Seq)
		}
	})
	stop()
	el := time.Since(t0)
	r.rep.Setup["seeded"] = acked.Load()
	r.rep.Setup["seed_s"] = round2(el.Seconds())
	r.rep.Setup["seed_msg_s"] = round2(float64(acked.Load()) / el.Seconds())
	r.printf("seeded %d messages in %v (%.0f msg/s over %d concurrent REST senders)\n",
		acked.Load(), el.Round(time.Millisecond), float64(acked.Load())/el.Seconds(), nc)
	return lastSeq.Load(), err
}
