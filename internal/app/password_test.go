package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

func TestHashIsPHCArgon2idAndVerifies(t *testing.T) {
	h := newHasher(PasswordOptions{Params: FastPasswordParams()})
	ctx := context.Background()
	enc, err := h.hash(ctx, "pässwörd 🔑")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", enc)
	}
	if enc2, _ := h.hash(ctx, "pässwörd 🔑"); enc2 == enc {
		t.Fatal("same hash twice: salt not random")
	}
	ok, rehash, err := h.verify(ctx, "pässwörd 🔑", enc)
	if err != nil || !ok || rehash {
		t.Fatalf("verify right = %v %v %v", ok, rehash, err)
	}
	for _, wrong := range []string{"", "pässwörd", "pässwörd 🔑 ", "PÄSSWÖRD 🔑"} {
		if ok, _, _ := h.verify(ctx, wrong, enc); ok {
			t.Fatalf("%q verified", wrong)
		}
	}
	stronger := newHasher(PasswordOptions{Params: PasswordParams{Memory: 128, Time: 1, Threads: 1}})
	if ok, rehash, _ := stronger.verify(ctx, "pässwörd 🔑", enc); !ok || !rehash {
		t.Fatalf("verify with other params: ok %v rehash %v; want true true", ok, rehash)
	}
	if p := newHasher(PasswordOptions{}).params; p != DefaultPasswordParams() || p.Memory < 19456 || p.Time < 2 {
		t.Fatalf("default params %+v", p)
	}
}

func TestParsePasswordHashRefusesMalformed(t *testing.T) {
	good := encodeHash(FastPasswordParams(), "x")
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key + "$extra",
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key, // 95 GiB
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=999$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "=",
	} {
		if _, _, _, err := ParsePasswordHash(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	if _, _, _, err := ParsePasswordHash(good); err != nil {
		t.Fatal(err)
	}
}

func FuzzParsePasswordHash(f *testing.F) {
	f.Add(encodeHash(FastPasswordParams(), "x"))
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParsePasswordHash(s)
		if err != nil {
			return
		}
		if p.Memory > 4<<20 || p.Time > 64 || len(salt) > 64 || len(key) > 128 || p.Threads == 0 {
			t.Fatalf("accepted out-of-bounds %q: %+v", s, p)
		}
	})
}

func TestHashingIsBoundedAndQueueLimited(t *testing.T) {
	h := newHasher(PasswordOptions{Params: FastPasswordParams(), MaxConcurrent: 1, MaxWaiting: 1})
	h.sem <- struct{}{} // a hash in progress holds the only slot
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { _, err := h.hash(ctx, "password1"); waited <- err }()
	for h.waiting.Load() != 1 { // until the goroutine is queued
		time.Sleep(time.Millisecond)
	}
	// The queue is full: refused at once with rate_limited and Retry-After.
	_, err := h.hash(context.Background(), "password2")
	if !parley.IsCode(err, parley.CodeRateLimited) || parley.AsError(err).RetryAfter <= 0 {
		t.Fatalf("over the queue: %v", err)
	}
	cancel()
	if err := <-waited; !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	<-h.sem
	if _, err := h.hash(context.Background(), "password3"); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if got := h.computed.Load(); got != 1 {
		t.Fatalf("%d hashes computed, want 1", got)
	}
}

func TestConcurrentHashesNeverExceedTheBound(t *testing.T) {
	h := newHasher(PasswordOptions{Params: FastPasswordParams(), MaxConcurrent: 2, MaxWaiting: 100})
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			peak = max(peak, len(h.sem))
			mu.Unlock()
			_ = encodeHash(h.params, "password")
			h.release()
		}()
	}
	wg.Wait()
	if peak > 2 || peak < 1 {
		t.Fatalf("peak concurrent hashes %d, bound 2", peak)
	}
}

// An unknown username costs the same argon2id work as a wrong password, so
// timing does not tell them apart. (Work is counted, not timed.)
func TestUnknownUserCostsOneHashLikeWrongPassword(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	a := New(Options{Store: store, Bus: memory.New(), Passwords: PasswordOptions{Params: FastPasswordParams()}})
	ctx := context.Background()
	if _, _, err := a.Register(ctx, RegisterInput{Username: "alice", Password: "password-1"}); err != nil {
		t.Fatal(err)
	}
	cost := func(username string) int64 {
		before := a.acct.pw.computed.Load()
		_, _, err := a.Login(ctx, LoginInput{Username: username, Password: "wrong-password"})
		if !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("login %s: %v", username, err)
		}
		return a.acct.pw.computed.Load() - before
	}
	if wrong, unknown := cost("alice"), cost("nobody"); wrong != 1 || unknown != 1 {
		t.Fatalf("hashes: wrong password %d, unknown user %d; want 1 and 1", wrong, unknown)
	}
}
