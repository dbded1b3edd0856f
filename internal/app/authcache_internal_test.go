package app

import (
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// TestAuthCacheSweep: entries past the TTL go once per TTL (with their
// user index), so the cache holds about the tokens of the last 10–20 s;
// a full cache of fresh entries starts over.
func TestAuthCacheSweep(t *testing.T) {
	var c authCache
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	put := func(tok, user string, at time.Time) {
		c.put([]byte(tok+"-0123456789012345678901234567"), parley.Session{ID: "s-" + tok, UserID: user}, parley.User{ID: user}, at, c.generation())
	}
	put("a", "u1", t0)
	put("b", "u1", t0)
	put("c", "u2", t0.Add(AuthCacheTTL/2))
	if len(c.byHash) != 3 || len(c.byUser["u1"]) != 2 {
		t.Fatalf("kept %d entries, u1 has %d", len(c.byHash), len(c.byUser["u1"]))
	}
	put("d", "u3", t0.Add(AuthCacheTTL)) // a and b are past the TTL now, c is not
	if len(c.byHash) != 2 || c.byUser["u1"] != nil || len(c.byUser["u2"]) != 1 {
		t.Fatalf("after the sweep: %d entries, index %v", len(c.byHash), c.byUser)
	}
	if _, _, ok := c.get([]byte("c-0123456789012345678901234567"), t0.Add(AuthCacheTTL)); !ok {
		t.Fatal("a fresh entry was swept")
	}

	// Full of fresh entries: start over.
	at := t0.Add(AuthCacheTTL + time.Second)
	for i := range maxAuthEntries {
		c.put([]byte{byte(i), byte(i >> 8), byte(i >> 16)}, parley.Session{}, parley.User{ID: "bulk"}, at, c.generation())
	}
	if n := len(c.byHash); n > maxAuthEntries {
		t.Fatalf("%d entries kept, at most %d", n, maxAuthEntries)
	}
}
