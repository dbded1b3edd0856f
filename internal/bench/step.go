package bench

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Step is one rung of a stepped, open-loop load: Total messages scheduled
// evenly over Dur at Rate per second. Message n (0-based) is due at
// Start + (n+1)/Rate whatever the server does, so a slow server shows up as
// latency measured from the scheduled time, not as a lower offered rate.
//
// Counters are updated concurrently by senders and receivers; Result reads
// them once the step has drained.
type Step struct {
	Index  int
	Rate   float64
	Dur    time.Duration
	Fanout int64 // deliveries expected per acknowledged message
	Total  int64

	start int64 // unix ns, set by Pace

	Emitted    atomic.Int64 // handed to a sender by the pacer
	GenDrops   atomic.Int64 // the generator could not keep up (sender queue full)
	Sent       atomic.Int64 // written to a socket
	SendErrs   atomic.Int64 // write failed or the server answered with an error
	Acked      atomic.Int64
	Delivered  atomic.Int64 // unique deliveries (first time a receiver saw that seq)
	Duplicated atomic.Int64 // a receiver saw a seq it had already seen
	Stray      atomic.Int64 // deliveries naming a message this step never scheduled
	lastSent   atomic.Int64
	lastRecv   atomic.Int64
	lastAck    atomic.Int64

	Latency  *Hist // scheduled → delivered (coordinated-omission corrected)
	WLatency *Hist // written → delivered
	AckLat   *Hist // scheduled → ack
	Spread   *Hist // first → last recipient of one message (fan-out only)

	msgs []msgState
}

type msgState struct {
	acked atomic.Bool
	count atomic.Int32 // unique deliveries
	first atomic.Int64 // unix ns of the first delivery
	last  atomic.Int64 // unix ns of the last delivery
}

// NewStep returns a step of rate messages/s for dur, each message expected to
// reach fanout receivers.
func NewStep(index int, rate float64, dur time.Duration, fanout int64) *Step {
	total := int64(math.Round(rate * dur.Seconds()))
	if total < 1 {
		total = 1
	}
	return &Step{
		Index: index, Rate: rate, Dur: dur, Fanout: fanout, Total: total,
		Latency: NewHist(), WLatency: NewHist(), AckLat: NewHist(), Spread: NewHist(),
		msgs: make([]msgState, total),
	}
}

// SchedTime returns when message n of a step started at start is due.
func SchedTime(start int64, rate float64, n int64) int64 {
	return start + int64(float64(n+1)/rate*1e9)
}

// Pace emits the step's messages on schedule until all Total are emitted or
// ctx ends (a hard stop at Dur+5s guards a stalled clock). emit must not
// block: hand the message to a buffered queue and count a GenDrop when full.
func (s *Step) Pace(ctx context.Context, emit func(n, sched int64)) {
	start := time.Now()
	s.start = start.UnixNano()
	tk := time.NewTicker(500 * time.Microsecond)
	defer tk.Stop()
	hard := start.Add(s.Dur + 5*time.Second)
	var n int64
	for n < s.Total {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-tk.C:
		}
		if now.After(hard) {
			return
		}
		due := int64(now.Sub(start).Seconds() * s.Rate)
		if due > s.Total {
			due = s.Total
		}
		for ; n < due; n++ {
			s.Emitted.Add(1)
			emit(n, SchedTime(s.start, s.Rate, n))
		}
	}
}

// StartNs returns the unix ns at which pacing started.
func (s *Step) StartNs() int64 { return s.start }

// MarkSent records a successful write of one message.
func (s *Step) MarkSent(now int64) {
	s.Sent.Add(1)
	atomicMax(&s.lastSent, now)
}

// MarkAck records the server's acknowledgement of message n.
func (s *Step) MarkAck(shard int, n, sched, now int64) {
	if n < 0 || n >= int64(len(s.msgs)) {
		return
	}
	if s.msgs[n].acked.Swap(true) {
		return
	}
	s.Acked.Add(1)
	atomicMax(&s.lastAck, now)
	s.AckLat.RecordNs(shard, now-sched)
}

// MarkDelivered records that one receiver saw message n for the first time.
// Receivers detect duplicates themselves (by seq) and call MarkDuplicate.
func (s *Step) MarkDelivered(shard int, n, sched, written, now int64) {
	if n < 0 || n >= int64(len(s.msgs)) {
		s.Stray.Add(1)
		return
	}
	m := &s.msgs[n]
	if m.count.Add(1) == 1 {
		m.first.Store(now)
	}
	atomicMax(&m.last, now)
	s.Delivered.Add(1)
	atomicMax(&s.lastRecv, now)
	s.Latency.RecordNs(shard, now-sched)
	if written > 0 {
		s.WLatency.RecordNs(shard, now-written)
	}
}

// MarkDuplicate records a delivery the receiver had already seen.
func (s *Step) MarkDuplicate() { s.Duplicated.Add(1) }

// Expected returns the deliveries owed for the messages acknowledged so far.
func (s *Step) Expected() int64 { return s.Acked.Load() * s.Fanout }

// Lost counts deliveries missing for acknowledged messages: for each acked
// message, Fanout minus the unique deliveries seen (never negative).
func (s *Step) Lost() int64 {
	var lost int64
	for i := range s.msgs {
		m := &s.msgs[i]
		if !m.acked.Load() {
			continue
		}
		if c := int64(m.count.Load()); c < s.Fanout {
			lost += s.Fanout - c
		}
	}
	return lost
}

// computeSpread fills Spread from the first/last delivery times of every
// message that reached all its receivers.
func (s *Step) computeSpread() {
	if s.Fanout < 2 {
		return
	}
	for i := range s.msgs {
		m := &s.msgs[i]
		if int64(m.count.Load()) >= s.Fanout {
			s.Spread.RecordNs(i, m.last.Load()-m.first.Load())
		}
	}
}

func atomicMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
