package app

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Limiter is a keyed token-bucket rate limiter, safe for concurrent use.
// Every key has its own bucket holding up to burst tokens, refilled at rate
// tokens per second; a new key starts full. Memory is bounded by the number
// of keys with a non-full bucket: full buckets are forgotten (a forgotten key
// is indistinguishable from a full one).
//
// Typical uses: NewLimiter(10.0/(15*60), 10, now) allows 10 events per key
// per 15 minutes with no burst beyond 10; NewLimiter(50, 100, now) allows a
// sustained 50 per second with bursts of 100.
type Limiter struct {
	rate   float64 // tokens per second
	burst  float64
	now    func() time.Time
	seed   maphash.Seed
	shards [16]limiterShard
}

type limiterShard struct {
	mu    sync.Mutex
	m     map[string]bucket
	sweep int // sweep full buckets when len(m) reaches this
}

type bucket struct {
	tokens float64
	at     time.Time
}

const minSweep = 1024

// NewLimiter returns a limiter refilling rate tokens per second up to burst.
// now may be nil (time.Now). rate must be positive and burst at least 1.
func NewLimiter(rate float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if rate <= 0 || math.IsNaN(rate) {
		rate = math.SmallestNonzeroFloat64
	}
	l := &Limiter{rate: rate, burst: float64(max(burst, 1)), now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[string]bucket{}
		l.shards[i].sweep = minSweep
	}
	return l
}

func (l *Limiter) shard(key string) *limiterShard {
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// level returns the bucket of key refilled to time now. Caller holds sh.mu.
func (l *Limiter) level(sh *limiterShard, key string, now time.Time) bucket {
	b, ok := sh.m[key]
	if !ok {
		return bucket{tokens: l.burst, at: now}
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
	}
	b.at = now
	return b
}

func (l *Limiter) wait(missing float64) time.Duration {
	return time.Duration(math.Ceil(missing / l.rate * float64(time.Second)))
}

// Allow takes one token for key. If none is available it takes nothing and
// returns false with the time until one will be.
func (l *Limiter) Allow(key string) (bool, time.Duration) { return l.AllowN(key, 1) }

// AllowN takes n tokens for key, or none (returning false and the time until
// n will be available; n larger than burst is never allowed).
func (l *Limiter) AllowN(key string, n int) (bool, time.Duration) {
	now := l.now()
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := l.level(sh, key, now)
	need := float64(n)
	if need > l.burst {
		return false, l.wait(l.burst)
	}
	if b.tokens < need {
		return false, l.wait(need - b.tokens)
	}
	b.tokens -= need
	l.store(sh, key, b)
	return true, 0
}

// Give returns n tokens to key, up to burst: it undoes an Allow whose event
// turned out not to count (a reserved sign-in attempt that succeeded).
func (l *Limiter) Give(key string, n int) {
	now := l.now()
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := l.level(sh, key, now)
	b.tokens = math.Min(l.burst, b.tokens+float64(n))
	l.store(sh, key, b)
}

// Wait returns how long until key has a token, without taking one: 0 if it
// has one now.
func (l *Limiter) Wait(key string) time.Duration {
	now := l.now()
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := l.level(sh, key, now)
	if b.tokens >= 1 {
		return 0
	}
	return l.wait(1 - b.tokens)
}

// Reset refills key's bucket.
func (l *Limiter) Reset(key string) {
	sh := l.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

// Len returns the number of keys currently remembered (for tests and metrics).
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// store saves b, forgetting it if full, and sweeps full buckets once the
// shard has grown to twice its size after the last sweep (amortized O(1)).
func (l *Limiter) store(sh *limiterShard, key string, b bucket) {
	if b.tokens >= l.burst {
		delete(sh.m, key)
		return
	}
	sh.m[key] = b
	if len(sh.m) < sh.sweep {
		return
	}
	for k, v := range sh.m {
		if l.level(sh, k, b.at).tokens >= l.burst || v.tokens >= l.burst {
			delete(sh.m, k)
		}
	}
	sh.sweep = max(minSweep, 2*len(sh.m))
}
