package parley

import (
	"encoding/binary"
	"testing"
	"time"
)

func TestNewSequentialIDIncreases(t *testing.T) {
	prev := NewSequentialID()
	for range 20000 { // many share a millisecond
		id := NewSequentialID()
		if !ValidID(id) || id <= prev {
			t.Fatalf("%q after %q", id, prev)
		}
		prev = id
	}
	// The clock stepping back, and a step that carries out of the low 64
	// bits: still increasing.
	sequential.Lock()
	saved := sequential.last
	t.Cleanup(func() { sequential.Lock(); sequential.last = saved; sequential.Unlock() })
	binary.BigEndian.PutUint64(sequential.last[:8], uint64(time.Now().Add(time.Hour).UnixMilli())<<16|0xffff)
	binary.BigEndian.PutUint64(sequential.last[8:], ^uint64(0))
	prev = encodeID(sequential.last)
	sequential.Unlock()
	for range 3 {
		id := NewSequentialID()
		if !ValidID(id) || id <= prev {
			t.Fatalf("%q after %q (clock behind the last id)", id, prev)
		}
		prev = id
	}
	if id := NewID(); id >= prev {
		t.Fatalf("NewID %q follows the sequential state %q", id, prev)
	}
}
