package bench

import (
	"context"
	"fmt"
	"time"
)

// dm: P pairs, each in its own direct conversation; one side of each pair
// sends over its WebSocket, the other receives. Every message is persisted
// (acked after commit) and delivered; the ladder finds the highest rate with
// p99 (scheduled → delivered) under the SLO and nothing lost.
func (r *runner) dm(ctx context.Context) error {
	p := r.cfg.Pairs
	r.rep.Params["pairs"] = p
	r.setParams()
	users, err := r.createUsers(ctx, 2*p)
	if err != nil {
		return err
	}
	convs := make([]string, p)
	t0 := time.Now()
	if err := parallel(ctx, p, r.cfg.SetupConc, func(ctx context.Context, i int) error {
		id, err := r.createConversation(ctx, users[2*i], "direct", []user{users[2*i+1]})
		convs[i] = id
		return err
	}); err != nil {
		return err
	}
	r.printf("created %d direct conversations in %v\n", p, time.Since(t0).Round(time.Millisecond))
	owners := make([]int, 2*p)
	for i := range owners {
		owners[i] = i
	}
	hs := NewHist()
	conns, failed, err := r.connectAll(ctx, users, owners, r.cfg.SetupConc, hs)
	if err != nil {
		closeAll(conns)
		return err
	}
	defer closeAll(conns)
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed", failed, len(conns))
	}
	r.rep.Setup["handshake"] = hs.Summary()
	r.prepareSteps(1)
	chans := make([]chan job, p)
	for i := 0; i < p; i++ {
		conns[2*i+1].receiver = true
		chans[i] = make(chan job, 4096)
	}
	for _, c := range conns {
		go r.serve(c)
	}
	for i := 0; i < p; i++ {
		go r.sender(conns[2*i], chans[i])
	}
	defer func() {
		for _, ch := range chans {
			close(ch)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	defer r.noteDropped(conns)
	r.runLadder(ctx, "deliv", func(s *Step, n, sched int64) {
		i := n % int64(p)
		select {
		case chans[i] <- job{s: s, n: n, sched: sched, conv: convs[i]}:
		default:
			s.GenDrops.Add(1)
		}
	})
	return nil
}

// group: one group of M members; S of them send, the other M−S receive every
// message. Reports deliveries/s (messages × receivers), latency per delivery
// and the spread from first to last recipient of each message.
func (r *runner) group(ctx context.Context) error {
	m, s := r.cfg.Members, r.cfg.Senders
	if s < 1 || s >= m {
		return fmt.Errorf("need 1 ≤ senders < members")
	}
	r.rep.Params["members"] = m
	r.rep.Params["senders"] = s
	r.setParams()
	users, err := r.createUsers(ctx, m)
	if err != nil {
		return err
	}
	t0 := time.Now()
	conv, err := r.createConversation(ctx, users[0], "group", users)
	if err != nil {
		return err
	}
	r.printf("created a group of %d members in %v\n", m, time.Since(t0).Round(time.Millisecond))
	owners := make([]int, m)
	for i := range owners {
		owners[i] = i
	}
	hs := NewHist()
	conns, failed, err := r.connectAll(ctx, users, owners, r.cfg.SetupConc, hs)
	if err != nil {
		closeAll(conns)
		return err
	}
	defer closeAll(conns)
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed", failed, len(conns))
	}
	r.rep.Setup["handshake"] = hs.Summary()
	r.prepareSteps(int64(m - s))
	for i := s; i < m; i++ {
		conns[i].receiver = true
	}
	for _, c := range conns {
		go r.serve(c)
	}
	chans := make([]chan job, s)
	for i := range chans {
		chans[i] = make(chan job, 4096)
		go r.sender(conns[i], chans[i])
	}
	defer func() {
		for _, ch := range chans {
			close(ch)
		}
	}()
	time.Sleep(time.Second) // let join events settle
	defer r.noteDropped(conns)
	r.runLadder(ctx, "deliv", func(st *Step, n, sched int64) {
		select {
		case chans[n%int64(s)] <- job{s: st, n: n, sched: sched, conv: conv}:
		default:
			st.GenDrops.Add(1)
		}
	})
	return nil
}

// setParams records the ladder parameters common to every workload.
func (r *runner) setParams() {
	r.rep.Params["rates"] = r.cfg.Rates
	r.rep.Params["step_s"] = r.cfg.StepDur.Seconds()
	r.rep.Params["slo_ms"] = float64(r.cfg.SLO) / float64(time.Millisecond)
	r.rep.Params["prefix"] = r.cfg.Prefix
}

// noteDropped records connections the server closed during the run (for
// example as slow consumers: a starved generator is one) by close code.
func (r *runner) noteDropped(conns []*conn) {
	codes := map[string]int{}
	n := 0
	for _, c := range conns {
		if c == nil {
			continue
		}
		select {
		case <-c.done:
			if !c.closed.Load() {
				n++
				code := "eof"
				if c.err != nil {
					code = errCode(c.err)
				}
				codes[code]++
			}
		default:
		}
	}
	if n > 0 {
		r.rep.Summary["disconnected_by_server"] = n
		r.rep.Summary["disconnect_codes"] = codes
		r.printf("the server closed %d connections during the run: %v\n", n, codes)
	}
}
