package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// population is the idle/storm setup: U users, each a member of about K
// group conversations of G members, and N connections spread over the
// users round-robin (a user with several connections is a user with several
// devices; registering one account per connection would measure password
// hashing, not connections).
type population struct {
	users   []user
	convs   []string // conversation ids
	members [][]int  // convs[i] → user indexes
	userCs  [][]int  // user index → conversation indexes
	owners  []int    // connection i → user index
}

func (r *runner) populate(ctx context.Context) (*population, error) {
	n := r.cfg.Conns
	u := r.cfg.Users
	if u <= 0 {
		u = min(n, 500)
	}
	u = min(u, n)
	g := max(2, min(r.cfg.GroupSz, u))
	k := max(0, r.cfg.Convs)
	r.rep.Params["connections"] = n
	r.rep.Params["users"] = u
	r.rep.Params["conversations_per_user"] = k
	r.rep.Params["members_per_conversation"] = g
	users, err := r.createUsers(ctx, u)
	if err != nil {
		return nil, err
	}
	p := &population{users: users, userCs: make([][]int, u)}
	per := (u + g - 1) / g
	for round := 0; round < k; round++ {
		shift := round * (g/max(k, 1) + 1)
		for gi := 0; gi < per; gi++ {
			var ms []int
			seen := map[int]bool{}
			for j := 0; j < g; j++ {
				idx := (gi*g + j + shift) % u
				if !seen[idx] {
					seen[idx] = true
					ms = append(ms, idx)
				}
			}
			if len(ms) >= 2 {
				p.members = append(p.members, ms)
			}
		}
	}
	p.convs = make([]string, len(p.members))
	t0 := time.Now()
	if err := parallel(ctx, len(p.members), r.cfg.SetupConc, func(ctx context.Context, i int) error {
		ms := make([]user, len(p.members[i]))
		for j, idx := range p.members[i] {
			ms[j] = users[idx]
		}
		id, err := r.createConversation(ctx, ms[0], "group", ms)
		p.convs[i] = id
		return err
	}); err != nil {
		return nil, err
	}
	for ci, ms := range p.members {
		for _, idx := range ms {
			p.userCs[idx] = append(p.userCs[idx], ci)
		}
	}
	r.rep.Setup["conversations"] = len(p.convs)
	r.printf("created %d conversations in %v\n", len(p.convs), time.Since(t0).Round(time.Millisecond))
	p.owners = make([]int, n)
	for i := range p.owners {
		p.owners[i] = i % u
	}
	return p, nil
}

// idle: N authenticated connections held open with heartbeats; reports the
// connect rate, handshake latency and server RSS per connection.
func (r *runner) idle(ctx context.Context) error {
	p, err := r.populate(ctx)
	if err != nil {
		return err
	}
	n := len(p.owners)
	time.Sleep(time.Second)
	srv0, _ := ReadProc(r.pid)
	gen0, _ := ReadProc(os.Getpid())
	busy0, _ := sysCPU()
	hs := NewHist()
	t0 := time.Now()
	conc := max(r.cfg.SetupConc, 64)
	conns, failed, err := r.connectAllServe(ctx, p.users, p.owners, conc, hs, nil)
	el := time.Since(t0)
	defer closeAll(conns)
	if err != nil {
		return err
	}
	ok := n - failed
	srv1, _ := ReadProc(r.pid)
	gen1, _ := ReadProc(os.Getpid())
	busy1, _ := sysCPU()
	if el := gen1.At.Sub(gen0.At).Seconds(); el > 0 {
		other := (busy1 - busy0 - (gen1.CPU - gen0.CPU)).Seconds() / el * 100
		if r.pid > 0 && r.pid != os.Getpid() {
			other -= (srv1.CPU - srv0.CPU).Seconds() / el * 100
		}
		r.rep.Summary["connect_other_cpu_pct"] = round2(max(0, other))
	}
	r.printf("connected %d/%d in %v (%.0f/s); handshake p50 %.1f ms p99 %.1f ms; server CPU %.1f s\n",
		ok, n, el.Round(time.Millisecond), float64(ok)/el.Seconds(), hs.Summary().P50, hs.Summary().P99,
		(srv1.CPU - srv0.CPU).Seconds())
	// Hold, sampling memory.
	var srvH ProcSample
	h0 := time.Now()
	stop := r.progress(func() string {
		return fmt.Sprintf("holding %d connections  t=%.0fs  server RSS %.1f MiB", ok, time.Since(h0).Seconds(), float64(srvH.RSSKiB)/1024)
	})
	for time.Since(h0) < r.cfg.Hold && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(min(2*time.Second, r.cfg.Hold)):
		}
		srvH, _ = ReadProc(r.pid)
	}
	stop()
	srv2, _ := ReadProc(r.pid)
	gen2, _ := ReadProc(os.Getpid())
	dropped := countDropped(conns)
	sum := r.rep.Summary
	sum["connections"] = ok
	sum["failed"] = failed
	sum["dropped_while_idle"] = dropped
	sum["connect_s"] = round2(el.Seconds())
	sum["connects_per_s"] = round2(float64(ok) / el.Seconds())
	sum["handshake"] = hs.Summary()
	sum["hold_s"] = round2(time.Since(h0).Seconds())
	if r.pid > 0 && ok > 0 {
		sum["server_rss_before_kib"] = srv0.RSSKiB
		sum["server_rss_after_kib"] = srv2.RSSKiB
		sum["server_kib_per_conn"] = round2(float64(srv2.RSSKiB-srv0.RSSKiB) / float64(ok))
		sum["server_fds"] = srv2.FDs
		sum["server_connect_cpu_s"] = round2((srv1.CPU - srv0.CPU).Seconds())
		sum["server_idle_cpu_pct"] = round2((srv2.CPU - srv1.CPU).Seconds() / srv2.At.Sub(srv1.At).Seconds() * 100)
		r.printf("server RSS %.1f → %.1f MiB: %.2f KiB per connection; idle CPU %.1f%%; fds %d\n",
			float64(srv0.RSSKiB)/1024, float64(srv2.RSSKiB)/1024, sum["server_kib_per_conn"], sum["server_idle_cpu_pct"], srv2.FDs)
	}
	if ok > 0 {
		sum["generator_kib_per_conn"] = round2(float64(gen2.RSSKiB-gen0.RSSKiB) / float64(ok))
	}
	r.printf("dropped while idle: %d; generator RSS %.1f MiB\n", dropped, float64(gen2.RSSKiB)/1024)
	return nil
}

// connectAllServe is connectAll that starts each connection's reader as soon
// as it is ready (so heartbeats are answered while others still connect),
// after calling ready(c) if non-nil.
func (r *runner) connectAllServe(ctx context.Context, users []user, owners []int, conc int, h *Hist, ready func(*conn)) ([]*conn, int, error) {
	conns := make([]*conn, len(owners))
	var failed int
	var fmu sync.Mutex
	var done int
	stop := r.progress(func() string {
		fmu.Lock()
		defer fmu.Unlock()
		return fmt.Sprintf("connecting %d/%d (%d failed)", done, len(owners), failed)
	})
	err := parallel(ctx, len(owners), conc, func(ctx context.Context, i int) error {
		c, d, err := r.connect(ctx, &users[owners[i]], i)
		fmu.Lock()
		if err != nil {
			failed++
			f := failed
			fmu.Unlock()
			r.countErr(errCode(err))
			if f <= 3 {
				fmt.Fprintf(r.cfg.Err, "bench: connect %d: %v\n", i, err)
			}
			return nil
		}
		done++
		fmu.Unlock()
		if h != nil {
			h.RecordNs(i, int64(d))
		}
		conns[i] = c
		if ready != nil {
			ready(c)
		}
		go r.serve(c)
		return nil
	})
	stop()
	return conns, failed, err
}

// countDropped counts connections whose reader ended without being asked to.
func countDropped(conns []*conn) int {
	n := 0
	for _, c := range conns {
		if c == nil {
			continue
		}
		select {
		case <-c.done:
			if !c.closed.Load() {
				n++
			}
		default:
		}
	}
	return n
}
