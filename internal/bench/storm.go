package bench

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// storm: N connections (as in idle) are all dropped at once, messages are
// posted to every conversation while they are away, then all reconnect at
// once and resync. Reports the time until every client is back and caught
// up (holds every missed message, once), failures and handshake latency.
// The resync runs over the socket (storm_resync.go).
func (r *runner) storm(ctx context.Context) error {
	p, err := r.populate(ctx)
	if err != nil {
		return err
	}
	r.rep.Params["missed_per_conversation"] = r.cfg.Missed
	r.rep.Params["history_only"] = r.cfg.StormHistoryOnly
	n := len(p.owners)
	conc := max(r.cfg.SetupConc, 64)
	conns, failed, err := r.connectAllServe(ctx, p.users, p.owners, conc, nil, func(c *conn) {
		// A client that has its history: it holds everything up to each
		// conversation's last_seq at connect time.
		c.receiver = true
		for _, cv := range c.ready.Conversations {
			c.seqs.set(cv.ConversationID, cv.LastSeq)
		}
	})
	if err != nil {
		closeAll(conns)
		return err
	}
	if failed > 0 {
		closeAll(conns)
		return fmt.Errorf("%d of %d initial connections failed", failed, n)
	}
	r.printf("connected %d clients\n", n)
	// Warm: one message per conversation so every client knows a seq.
	targets, err := r.postToAll(ctx, p, 1, "warm")
	if err != nil {
		closeAll(conns)
		return err
	}
	if !r.waitCaughtUp(ctx, conns, p, targets, 30*time.Second) {
		fmt.Fprintln(r.cfg.Err, "bench: not every client saw the warm-up message within 30 s; continuing")
	}
	// Drop everyone at once, like a node or network failure.
	known := make([]seqMap, n)
	for i, c := range conns {
		c.mu.Lock()
		known[i] = c.seqs.clone()
		c.mu.Unlock()
		c.closed.Store(true)
		c.ws.Abort()
	}
	for _, c := range conns {
		<-c.done
	}
	r.printf("dropped %d connections\n", n)
	if w, ok := r.waitDropSeen(ctx, 30*time.Second); ok {
		r.rep.Summary["server_released_drop_s"] = round2(w.Seconds())
		r.printf("the server released them after %v\n", w.Round(time.Millisecond))
	}
	if targets, err = r.postToAll(ctx, p, r.cfg.Missed, "missed"); err != nil {
		return err
	}
	// Reconnect everyone at once and resync.
	srv0, _ := ReadProc(r.pid)
	gen0, _ := ReadProc(os.Getpid())
	busy0, _ := sysCPU()
	hs := NewHist()
	catch := NewHist()
	var caught, resyncFail, dups, gaps atomic.Int64
	t0 := time.Now()
	isCaught := func(c *conn) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, ci := range p.userCs[p.owners[c.idx]] {
			id := p.convs[ci]
			if c.seqs.get(id) < targets[id] {
				return false
			}
		}
		return true
	}
	marks := make([]atomic.Bool, n)
	check := func(c *conn) {
		if !marks[c.idx].Load() && isCaught(c) && !marks[c.idx].Swap(true) {
			catch.RecordNs(c.idx, time.Since(t0).Nanoseconds())
			caught.Add(1)
		}
	}
	stopProg := r.progress(func() string {
		return fmt.Sprintf("storm: t=%.1fs  caught up %d/%d", time.Since(t0).Seconds(), caught.Load(), n)
	})
	if !r.cfg.StormHistoryOnly {
		// Each client names what it holds: ready carries what it missed.
		r.since = func(idx int) map[string]int64 {
			m := make(map[string]int64, len(known[idx]))
			for id, p := range known[idx] {
				m[id] = *p
			}
			return m
		}
		defer func() { r.since = nil }()
	}
	conns2, failed2, err := r.connectAllServe(ctx, p.users, p.owners, r.cfg.StormConc, hs, func(c *conn) {
		c.receiver = true
		c.seqs = known[c.idx]
		c.caught = check
		c.rs = newResyncState(c, &dups, &gaps)
		r.resyncReady(c)
		go func() {
			if err := r.resyncSocket(ctx, c); err != nil {
				if resyncFail.Add(1) <= 3 {
					fmt.Fprintf(r.cfg.Err, "bench: resync %d: %v\n", c.idx, err)
				}
				r.countErr(errCode(err))
			}
			check(c)
		}()
	})
	defer closeAll(conns2)
	back := time.Since(t0)
	deadline := time.Now().Add(60 * time.Second)
	for caught.Load() < int64(n-failed2) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	all := time.Since(t0)
	stopProg()
	if err != nil {
		return err
	}
	sum := r.rep.Summary
	srv1, _ := ReadProc(r.pid)
	gen1, _ := ReadProc(os.Getpid())
	busy1, _ := sysCPU()
	if el := gen1.At.Sub(gen0.At).Seconds(); el > 0 {
		sum["generator_cpu_pct"] = round2((gen1.CPU - gen0.CPU).Seconds() / el * 100)
		other := (busy1 - busy0 - (gen1.CPU - gen0.CPU)).Seconds() / el * 100
		if r.pid > 0 && r.pid != os.Getpid() {
			sum["server_cpu_pct"] = round2((srv1.CPU - srv0.CPU).Seconds() / el * 100)
			other -= (srv1.CPU - srv0.CPU).Seconds() / el * 100
		}
		sum["other_cpu_pct"] = round2(max(0, other))
	}
	sum["clients"] = n
	sum["reconnected"] = n - failed2
	sum["reconnect_failures"] = failed2
	sum["resync_failures"] = resyncFail.Load()
	sum["caught_up"] = caught.Load()
	sum["duplicates"] = dups.Load()
	sum["history_gaps"] = gaps.Load()
	sum["all_connected_s"] = round2(back.Seconds())
	sum["all_caught_up_s"] = round2(all.Seconds())
	sum["handshake"] = hs.Summary()
	sum["catch_up"] = catch.Summary()
	r.printf("storm: %d/%d reconnected in %v, %d caught up after %v (%d reconnect failures, %d resync failures, %d duplicates, %d history gaps)\n",
		n-failed2, n, back.Round(time.Millisecond), caught.Load(), all.Round(time.Millisecond), failed2, resyncFail.Load(),
		dups.Load(), gaps.Load())
	q := hs.Summary()
	r.printf("handshake (dial → ready): p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", q.P50, q.P90, q.P99, q.Max)
	q = catch.Summary()
	r.printf("caught up after reconnect start: p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", q.P50, q.P99, q.Max)
	return nil
}

// postToAll posts k messages to every conversation over REST (from its
// first member) and returns each conversation's last seq.
func (r *runner) postToAll(ctx context.Context, p *population, k int, tag string) (map[string]int64, error) {
	last := make([]int64, len(p.convs))
	err := parallel(ctx, len(p.convs), r.cfg.SetupConc, func(ctx context.Context, i int) error {
		u := p.users[p.members[i][0]]
		for j := 0; j < k; j++ {
			var m struct {
				Seq int64 `json:"seq"`
			}
			body := map[string]string{"client_msg_id": fmt.Sprintf("%s-%s-%d-%d", r.cfg.Prefix, tag, i, j), "body": tag + " message"}
			if err := retry(ctx, func() error {
				return r.rest.Do(ctx, "POST", "/api/v1/conversations/"+p.convs[i]+"/messages", u.Token, body, &m)
			}); err != nil {
				return fmt.Errorf("post %s message: %w", tag, err)
			}
			last[i] = max(last[i], m.Seq)
		}
		return nil
	})
	t := make(map[string]int64, len(p.convs))
	for i, id := range p.convs {
		t[id] = last[i]
	}
	return t, err
}

func (r *runner) waitCaughtUp(ctx context.Context, conns []*conn, p *population, targets map[string]int64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, c := range conns {
			c.mu.Lock()
			for _, ci := range p.userCs[p.owners[c.idx]] {
				if c.seqs.get(p.convs[ci]) < targets[p.convs[ci]] {
					all = false
					break
				}
			}
			c.mu.Unlock()
			if !all {
				break
			}
		}
		if all {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
