package parley

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// idAlphabet is Crockford's base32 in lower case: no i, l, o, u.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// IDLen is the length of every id NewID returns.
const IDLen = 26

// NewID returns a new 26-character identifier: 48 bits of millisecond time
// followed by 80 random bits, base32-encoded. IDs sort roughly by creation time
// and are safe to generate on many nodes at once.
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	return encodeID(b)
}

// sequential is NewSequentialID's last id.
var sequential struct {
	sync.Mutex
	last [16]byte
}

// NewSequentialID is NewID for records listed in id order (the audit log,
// reports): on one node each is greater than every one before it, also
// within a millisecond and when the clock steps back; across nodes they
// sort by millisecond only. Its random bits follow from the previous id's
// (the next is the last one plus a random step below 2^32): never use it
// where an id must not be guessed.
func NewSequentialID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	sequential.Lock()
	defer sequential.Unlock()
	last := &sequential.last
	if binary.BigEndian.Uint64(b[:8])>>16 <= binary.BigEndian.Uint64(last[:8])>>16 {
		// Same millisecond or earlier: the last id plus a step of 1..2^32
		// over its 128 bits (a carry into the time bits only moves the
		// time on by a millisecond).
		step := uint64(binary.BigEndian.Uint32(b[12:])) + 1
		lo := binary.BigEndian.Uint64(last[8:])
		hi := binary.BigEndian.Uint64(last[:8])
		sum := lo + step
		if sum < lo {
			hi++
		}
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], sum)
	}
	*last = b
	return encodeID(b)
}

func encodeID(b [16]byte) string {
	// 128 bits → 26 base32 digits (130 bits, top 2 zero).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [IDLen]byte
	for i := IDLen - 1; i >= 0; i-- {
		out[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s has the form of an id NewID returns. It does not
// say whether anything with that id exists.
func ValidID(s string) bool {
	if len(s) != IDLen || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
