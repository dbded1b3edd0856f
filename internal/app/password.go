package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/parley-chat/parley"
)

// PasswordParams are argon2id cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of derived key
}

// DefaultPasswordParams are OWASP's recommended argon2id minimum (Password
// Storage Cheat Sheet): m=19456 KiB (19 MiB), t=2, p=1, with a 128-bit salt
// and a 256-bit key. About 20 ms of one core per hash on the reference machine.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// FastPasswordParams are deliberately weak parameters for tests whose subject
// is not password hashing. Never use them in production.
func FastPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// PasswordOptions configure password hashing. Zero fields take defaults.
type PasswordOptions struct {
	Params PasswordParams // default DefaultPasswordParams()
	// MaxConcurrent bounds the hashes computed at once (each holds Memory KiB
	// and one core). Default: half the CPUs, at least 1, so a sign-in flood
	// always leaves CPU for everything else.
	MaxConcurrent int
	// MaxWaiting bounds the requests queued for a hashing slot; beyond it
	// sign-ins are refused at once with CodeRateLimited. Default 64.
	MaxWaiting int
}

// hasher hashes and verifies passwords with argon2id, at most MaxConcurrent
// at a time. Hashes use the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64 raw std>$<key, base64 raw std>
type hasher struct {
	params     PasswordParams
	sem        chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
	computed   atomic.Int64 // argon2id computations done (tests compare paths by work)

	dummyOnce sync.Once
	dummy     string
}

func newHasher(o PasswordOptions) *hasher {
	if o.Params == (PasswordParams{}) {
		o.Params = DefaultPasswordParams()
	}
	d := DefaultPasswordParams()
	if o.Params.SaltLen == 0 {
		o.Params.SaltLen = d.SaltLen
	}
	if o.Params.KeyLen == 0 {
		o.Params.KeyLen = d.KeyLen
	}
	if o.Params.Threads == 0 {
		o.Params.Threads = 1
	}
	if o.Params.Time == 0 {
		o.Params.Time = 1
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = 64
	}
	return &hasher{params: o.Params, sem: make(chan struct{}, o.MaxConcurrent), maxWaiting: int64(o.MaxWaiting)}
}

// errBusy is returned when too many sign-ins are already waiting to hash.
func errBusy() error {
	return &parley.Error{Code: parley.CodeRateLimited, Message: "the server is busy; retry shortly", RetryAfter: time.Second}
}

// acquire takes a hashing slot, waiting while ctx allows. Errors:
// CodeRateLimited when the queue is full, CodeUnavailable when ctx ends.
func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxWaiting {
		h.waiting.Add(-1)
		return errBusy()
	}
	defer h.waiting.Add(-1)
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &parley.Error{Code: parley.CodeUnavailable, Message: "timed out waiting to check the password", Err: ctx.Err()}
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns the PHC-format argon2id hash of password with a fresh salt.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	h.computed.Add(1)
	return encodeHash(h.params, password), nil
}

func encodeHash(p PasswordParams, password string) string {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verify reports whether password matches the encoded hash, comparing in
// constant time. rehash is true when the hash was made with parameters other
// than the current ones (so the caller may upgrade it after a sign-in).
func (h *hasher) verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	p, salt, key, err := ParsePasswordHash(encoded)
	if err != nil {
		return false, false, parley.Internal(err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.computed.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key))) // #nosec G115 -- key length is checked to be 16-128 bytes
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, p != h.params, nil
}

// verifyDummy spends the same work as verify, for sign-ins naming an unknown
// account, so that unknown accounts and wrong passwords take similar time. The
// dummy hash has the current parameters and random salt and key: it matches
// no password, and making it costs nothing.
func (h *hasher) verifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		salt, key := make([]byte, h.params.SaltLen), make([]byte, h.params.KeyLen)
		_, _ = rand.Read(salt)
		_, _ = rand.Read(key)
		b64 := base64.RawStdEncoding
		h.dummy = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory,
			h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
	})
	_, _, err := h.verify(ctx, password, h.dummy)
	return err
}

// ParsePasswordHash parses a PHC-format argon2id hash into its parameters,
// salt and key. It refuses other algorithms, versions other than 19, and
// parameters outside sane bounds (so a corrupt hash cannot demand gigabytes).
func ParsePasswordHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("password hash: not a PHC argon2id string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, fmt.Errorf("password hash: bad parameter %q", kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("password hash: bad parameter %q", kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, fmt.Errorf("password hash: p out of range")
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, fmt.Errorf("password hash: unknown parameter %q", k)
		}
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20 || p.Time < 1 || p.Time > 64 || p.Threads < 1 {
		return p, nil, nil, fmt.Errorf("password hash: parameters out of range: %s", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, fmt.Errorf("password hash: bad salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("password hash: bad key")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key)) // #nosec G115 -- lengths are checked to be at most 128 just above
	return p, salt, key, nil
}
