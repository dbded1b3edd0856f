package bench

import (
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// histMaxUs is the largest latency a histogram records (longer values are
// clamped): 10 minutes in microseconds.
const histMaxUs = 600_000_000

const histShards = 16

// Hist is a latency histogram in microseconds, safe for concurrent use:
// recorders pick a shard (usually their connection index) so they rarely
// contend.
type Hist struct {
	shards [histShards]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
		_  [40]byte // keep shards on separate cache lines
	}
}

// NewHist returns an empty histogram with 3 significant digits.
func NewHist() *Hist {
	h := &Hist{}
	for i := range h.shards {
		h.shards[i].h = hdrhistogram.New(1, histMaxUs, 3)
	}
	return h
}

// RecordNs records one latency given in nanoseconds, clamped to
// [1 µs, histMaxUs].
func (h *Hist) RecordNs(shard int, ns int64) {
	us := ns / 1000
	if us < 1 {
		us = 1
	}
	if us > histMaxUs {
		us = histMaxUs
	}
	s := &h.shards[uint(shard)%histShards]
	s.mu.Lock()
	_ = s.h.RecordValue(us)
	s.mu.Unlock()
}

// Merged returns a copy holding every shard's values.
func (h *Hist) Merged() *hdrhistogram.Histogram {
	m := hdrhistogram.New(1, histMaxUs, 3)
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		m.Merge(s.h)
		s.mu.Unlock()
	}
	return m
}

// Quantiles summarises a latency distribution in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary returns the quantiles of everything recorded so far.
func (h *Hist) Summary() Quantiles {
	return summarize(h.Merged())
}

func summarize(m *hdrhistogram.Histogram) Quantiles {
	if m.TotalCount() == 0 {
		return Quantiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Quantiles{
		Count: m.TotalCount(),
		P50:   ms(m.ValueAtQuantile(50)),
		P90:   ms(m.ValueAtQuantile(90)),
		P99:   ms(m.ValueAtQuantile(99)),
		P999:  ms(m.ValueAtQuantile(99.9)),
		Max:   ms(m.Max()),
	}
}
