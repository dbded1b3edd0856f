package bench

import (
	"context"
	"fmt"
	"os"
	"time"
)

// emitFunc hands message n of step s, due at sched, to a sender. It must not
// block (count a GenDrop when the sender's queue is full).
type emitFunc func(s *Step, n, sched int64)

// prepareSteps allocates every step of the ladder up front so receivers can
// look a step up by the index carried in a message body without locking.
func (r *runner) prepareSteps(fanout int64) {
	r.steps = make([]*Step, len(r.cfg.Rates))
	for i, rate := range r.cfg.Rates {
		r.steps[i] = NewStep(i, rate, r.cfg.StepDur, fanout)
	}
}

// stepAt returns step i or nil.
func (r *runner) stepAt(i int) *Step {
	if i < 0 || i >= len(r.steps) {
		return nil
	}
	return r.steps[i]
}

// runLadder drives the prepared steps in order, printing a table row per
// step, and stops after the first saturated step unless KeepGoing.
// deliveries says whether the workload expects deliveries (false: acks only).
func (r *runner) runLadder(ctx context.Context, unit string, emit emitFunc) {
	r.printf("%-4s %9s %9s %9s %10s %7s %5s %10s %8s %8s %8s %8s %8s %8s %6s %6s %6s %8s\n",
		"step", "offered/s", "sent/s", "acked/s", unit+"/s", "lost", "dup",
		"errs", "p50ms", "p90ms", "p99ms", "p999ms", "maxms", "ackp99", "srv%", "gen%", "oth%", "rssMiB")
	for _, s := range r.steps {
		if ctx.Err() != nil {
			return
		}
		res := r.runStep(ctx, s, emit)
		r.rep.Steps = append(r.rep.Steps, res)
		lat, thr := res.Latency, res.DeliveryRate
		if res.Fanout == 0 { // request/response workloads: the answer is the delivery
			lat, thr = res.AckLatency, res.AckRate
		}
		r.printf("%-4d %9.0f %9.0f %9.0f %10.0f %7d %5d %10d %8.2f %8.2f %8.2f %8.2f %8.1f %8.2f %6.0f %6.0f %6.0f %8.1f%s\n",
			res.Step, res.OfferedRate, res.SentRate, res.AckRate, thr, res.Lost, res.Duplicated,
			res.SendErrors+res.GenDrops, lat.P50, lat.P90, lat.P99, lat.P999, lat.Max,
			res.AckLatency.P99, res.ServerCPUPct, res.GenCPUPct, res.OtherCPUPct, float64(res.ServerRSSKiB)/1024, stepFlag(res))
		if res.Spread != nil && res.Spread.Count > 0 {
			r.printf("     first→last recipient: p50 %.2f ms, p99 %.2f ms, max %.1f ms\n", res.Spread.P50, res.Spread.P99, res.Spread.Max)
		}
		if res.Saturated && !r.cfg.KeepGoing {
			r.printf("saturated at %.0f/s: stopping the ladder (--keep-going runs every step)\n", res.OfferedRate)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.Settle):
		}
	}
}

func stepFlag(s StepResult) string {
	switch {
	case s.Saturated:
		return "  SATURATED"
	case s.WithinSLO:
		return "  ok"
	}
	return "  over SLO"
}

// runStep paces one step, waits for it to drain, and summarises it.
func (r *runner) runStep(ctx context.Context, s *Step, emit emitFunc) StepResult {
	r.cur.set(s)
	defer r.cur.set(nil)
	r.waitQuiet(ctx)
	srv0, _ := ReadProc(r.pid)
	gen0, _ := ReadProc(os.Getpid())
	busy0, _ := sysCPU()
	stopProg := r.progress(func() string {
		el := time.Since(time.Unix(0, s.StartNs())).Seconds()
		return fmt.Sprintf("step %d  %.0f/s  t=%4.1fs  sent %d  acked %d  delivered %d/%d  errs %d",
			s.Index, s.Rate, el, s.Sent.Load(), s.Acked.Load(), s.Delivered.Load(), s.Expected(),
			s.SendErrs.Load()+s.GenDrops.Load())
	})
	s.Pace(ctx, func(n, sched int64) { emit(s, n, sched) })
	// Wait (bounded) for senders to flush and the server to answer.
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		flushed := s.Sent.Load()+s.SendErrs.Load()+s.GenDrops.Load() >= s.Emitted.Load()
		answered := s.Acked.Load()+s.SendErrs.Load() >= s.Sent.Load()
		if flushed && answered && s.Delivered.Load() >= s.Expected() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // stragglers and duplicates
	stopProg()
	srv1, _ := ReadProc(r.pid)
	gen1, _ := ReadProc(os.Getpid())
	busy1, _ := sysCPU()
	res := r.summarize(s, srv0, srv1, gen0, gen1)
	if el := gen1.At.Sub(gen0.At).Seconds(); el > 0 {
		other := (busy1-busy0).Seconds()/el*100 - res.GenCPUPct
		if r.pid > 0 && r.pid != os.Getpid() {
			other -= res.ServerCPUPct
		}
		res.OtherCPUPct = max(0, other)
	}
	return res
}

func (r *runner) summarize(s *Step, srv0, srv1, gen0, gen1 ProcSample) StepResult {
	s.computeSpread()
	res := StepResult{
		Step: s.Index, OfferedRate: s.Rate, Fanout: s.Fanout, Scheduled: s.Total,
		GenDrops: s.GenDrops.Load(), Sent: s.Sent.Load(), SendErrors: s.SendErrs.Load(), Acked: s.Acked.Load(),
		Expected: s.Expected(), Delivered: s.Delivered.Load(), Duplicated: s.Duplicated.Load(), Lost: s.Lost(),
		Latency: s.Latency.Summary(), WriteLatency: s.WLatency.Summary(), AckLatency: s.AckLat.Summary(),
	}
	if s.Fanout > 1 {
		sp := s.Spread.Summary()
		res.Spread = &sp
	}
	start := s.StartNs()
	if d := float64(s.lastSent.Load()-start) / 1e9; d > 0 {
		res.SentRate = float64(res.Sent) / d
	}
	// Ack and delivery rates over the offered window, or longer when the
	// server fell behind and answered after it.
	if d := max(s.Dur.Seconds(), float64(s.lastAck.Load()-start)/1e9); d > 0 {
		res.AckRate = float64(res.Acked) / d
	}
	if d := max(s.Dur.Seconds(), float64(s.lastRecv.Load()-start)/1e9); d > 0 {
		res.DeliveryRate = float64(res.Delivered) / d
	}
	if el := srv1.At.Sub(srv0.At).Seconds(); el > 0 && r.pid > 0 {
		res.ServerCPUPct = (srv1.CPU - srv0.CPU).Seconds() / el * 100
		res.ServerRSSKiB = srv1.RSSKiB
	}
	if el := gen1.At.Sub(gen0.At).Seconds(); el > 0 {
		res.GenCPUPct = (gen1.CPU - gen0.CPU).Seconds() / el * 100
	}
	slo := float64(r.cfg.SLO) / float64(time.Millisecond)
	lat := res.Latency
	if s.Fanout == 0 {
		lat = res.AckLatency
	}
	res.WithinSLO = res.Lost == 0 && res.Duplicated == 0 && res.SendErrors == 0 && res.GenDrops == 0 &&
		res.Acked == res.Scheduled && lat.Count > 0 && lat.P99 <= slo
	switch {
	case float64(res.Sent) < 0.95*float64(res.Scheduled):
		res.Saturated, res.Note = true, "generator or server could not send the offered rate"
	case res.Lost > 0 || float64(res.Acked) < 0.95*float64(res.Sent):
		res.Saturated, res.Note = true, "not everything acked/delivered within the drain time"
	case lat.P99 > 10*slo:
		res.Saturated, res.Note = true, "p99 above 10× the SLO"
	}
	return res
}

// progress prints line() on a live status line every second until the
// returned stop is called (only with --progress).
func (r *runner) progress(line func() string) (stop func()) {
	if !r.cfg.Progress {
		return func() {}
	}
	done := make(chan struct{})
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(r.cfg.Err, "\r\033[K")
				return
			case <-tk.C:
				fmt.Fprint(r.cfg.Err, "\r\033[K"+line())
			}
		}
	}()
	return func() { close(done); <-fin }
}

// waitQuiet waits (at most QuietWait) until processes other than the server
// and the generator use under QuietPct of one core for 3 seconds in a row:
// the machine is shared, and a step run while something else compiles
// measures that instead.
func (r *runner) waitQuiet(ctx context.Context) {
	if r.cfg.QuietWait <= 0 {
		return
	}
	deadline := time.Now().Add(r.cfg.QuietWait)
	good := 0
	var other float64
	for time.Now().Before(deadline) && ctx.Err() == nil {
		srv0, _ := ReadProc(r.pid)
		gen0, _ := ReadProc(os.Getpid())
		b0, _ := sysCPU()
		time.Sleep(time.Second)
		srv1, _ := ReadProc(r.pid)
		gen1, _ := ReadProc(os.Getpid())
		b1, _ := sysCPU()
		other = (b1 - b0 - (gen1.CPU - gen0.CPU)).Seconds() * 100
		if r.pid > 0 && r.pid != os.Getpid() {
			other -= (srv1.CPU - srv0.CPU).Seconds() * 100
		}
		if other < r.cfg.QuietPct {
			if good++; good >= 3 {
				return
			}
		} else {
			good = 0
		}
	}
	fmt.Fprintf(r.cfg.Err, "bench: machine not quiet after %v (other processes %.0f%% of a core); running anyway\n", r.cfg.QuietWait, other)
}
