package checker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// account reads every conversation's history, waits for every client's
// stream to catch up with it, and classifies every message id.
func (r *run) account(ctx context.Context) (Result, error) {
	res := Result{Faults: map[string]int{}, Retries: r.retries.Load()}
	r.mu.Lock()
	for k, v := range r.faults {
		res.Faults[k] = v
	}
	res.Failures = append(res.Failures, r.failures...)
	attempted, acked := r.attempted, r.acked
	r.mu.Unlock()
	res.Attempted, res.Acknowledged = len(attempted), len(acked)
	res.Indeterminate = res.Attempted - res.Acknowledged

	// Full history of every conversation, oldest first.
	history := map[string][]parley.Message{}
	reader := r.users[0]
	for _, conv := range r.convs {
		owner := reader
		for _, u := range r.users {
			if contains(u.convs, conv) {
				owner = u
				break
			}
		}
		var all []parley.Message
		after := int64(0)
		for {
			var page []parley.Message
			err := retry(ctx, time.Minute, func() error {
				var err error
				page, err = owner.rest[0].History(ctx, conv, client.HistoryQuery{After: after, Limit: 200})
				return err
			})
			if err != nil {
				return res, fmt.Errorf("history of %s: %w", conv, err)
			}
			all = append(all, page...)
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Seq
		}
		history[conv] = all
	}

	// History: seqs 1..n without gaps; every checker message attempted by
	// its sender, stored once.
	where := map[string][]parley.Message{} // cmid → stored copies
	for conv, msgs := range history {
		want := int64(1)
		for _, m := range msgs {
			if m.Seq != want {
				res.HistoryGaps++
				res.Failures = append(res.Failures, fmt.Sprintf("history of %s: seq %d where %d was due", conv, m.Seq, want))
			}
			want = m.Seq + 1
			if !strings.HasPrefix(m.Body, bodyPrefix) {
				continue // system events (membership) and the like
			}
			cmid := strings.TrimPrefix(m.Body, bodyPrefix)
			where[cmid] = append(where[cmid], m)
			if sender, ok := attempted[cmid]; !ok || sender != m.SenderID || r.sentConv[cmid] != conv {
				res.Unexpected++
				res.Failures = append(res.Failures, fmt.Sprintf("unexpected message %q at %s/%d", cmid, conv, m.Seq))
			}
		}
	}
	res.Stored = len(where)
	for cmid, copies := range where {
		if len(copies) > 1 {
			res.Duplicated++
			res.Failures = append(res.Failures, fmt.Sprintf("%s stored %d times", cmid, len(copies)))
		}
	}
	for cmid, a := range acked {
		copies := where[cmid]
		if len(copies) == 0 {
			res.Lost++
			res.Failures = append(res.Failures, fmt.Sprintf("acked %s (id %s, seq %d) is not in history", cmid, a.id, a.seq))
			continue
		}
		if copies[0].ID != a.id || copies[0].Seq != a.seq {
			res.AckMismatch++
			res.Failures = append(res.Failures, fmt.Sprintf("%s acked as %s/%d, stored as %s/%d", cmid, a.id, a.seq, copies[0].ID, copies[0].Seq))
		}
	}
	for k, cmids := range r.order {
		last := int64(0)
		for _, cmid := range cmids {
			copies := where[cmid]
			if len(copies) == 0 {
				continue
			}
			if copies[0].Seq <= last {
				res.Reordered++
				res.Failures = append(res.Failures, fmt.Sprintf("sender %s in %s: %s stored at seq %d, before an earlier ack (seq %d)", k[0], k[1], cmid, copies[0].Seq, last))
			}
			last = copies[0].Seq
		}
	}

	// Streams: wait until every client has every conversation's last seq
	// (or the drain time is up), then check each stream is exactly
	// history: every seq once, in order.
	deadline := time.Now().Add(r.cfg.Drain)
	for _, u := range r.users {
		for {
			behind := ""
			u.mu.Lock()
			for _, conv := range u.convs {
				s, h := u.stream[conv], history[conv]
				if len(h) > 0 && (len(s) == 0 || s[len(s)-1].Seq < h[len(h)-1].Seq) {
					behind = conv
				}
			}
			u.mu.Unlock()
			if behind == "" || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, u := range r.users {
		u.mu.Lock()
		res.Disconnects += u.disc
		for _, conv := range u.convs {
			h := history[conv]
			byseq := map[int64]parley.Message{}
			for _, m := range h {
				byseq[m.Seq] = m
			}
			seen := map[int64]bool{}
			last := int64(0)
			for _, m := range u.stream[conv] {
				res.Delivered++
				if seen[m.Seq] {
					res.StreamDups++
					res.Failures = append(res.Failures, fmt.Sprintf("user %d got %s/%d twice", u.idx, conv, m.Seq))
				} else if m.Seq < last {
					res.StreamOrder++
					res.Failures = append(res.Failures, fmt.Sprintf("user %d got %s/%d after %d", u.idx, conv, m.Seq, last))
				}
				seen[m.Seq] = true
				last = max(last, m.Seq)
				if hm, ok := byseq[m.Seq]; !ok || hm.ID != m.ID {
					res.StreamWrong++
					res.Failures = append(res.Failures, fmt.Sprintf("user %d got %s at %s/%d, history has %q", u.idx, m.ID, conv, m.Seq, hm.ID))
				}
			}
			missing := 0
			for _, m := range h {
				if !seen[m.Seq] {
					missing++
				}
			}
			if missing > 0 {
				res.StreamGaps += missing
				res.Failures = append(res.Failures, fmt.Sprintf("user %d never got %d of %d messages of %s (had %d, %d disconnects, last error: %v)",
					u.idx, missing, len(h), conv, len(u.stream[conv]), u.disc, u.final))
			}
		}
		u.mu.Unlock()
	}
	return res, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
