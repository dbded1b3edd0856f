package e2ee

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Safety numbers (docs/e2ee.md §10).

// Fingerprint returns the 30 digits of one user's device set: h0 =
// "ParleySafety1" || userID || IKs sorted by bytes; h_{k+1} = SHA-512(h_k
// || IKs concatenation) for k = 0..5199; the first 30 bytes of h_5200 as six
// big-endian 40-bit numbers, each mod 100000, as five digits.
func Fingerprint(userID string, identityKeys [][]byte) string {
	keys := slices.Clone(identityKeys)
	slices.SortFunc(keys, bytes.Compare)
	cat := bytes.Join(keys, nil)
	h := append([]byte(safetyPrefix), userID...)
	h = append(h, cat...)
	for range safetyRounds {
		d := sha512.Sum512(append(h, cat...))
		h = d[:]
	}
	var sb strings.Builder
	for i := range 6 {
		var b [8]byte
		copy(b[3:], h[i*5:i*5+5])
		fmt.Fprintf(&sb, "%05d", binary.BigEndian.Uint64(b[:])%100000)
	}
	return sb.String()
}

// SafetyNumber is the 60 digits of two users: the lower user id's (byte
// order) fingerprint first. Both sides compute the same number.
func SafetyNumber(userA string, keysA [][]byte, userB string, keysB [][]byte) string {
	a, b := Fingerprint(userA, keysA), Fingerprint(userB, keysB)
	if userB < userA {
		a, b = b, a
	}
	return a + b
}

// FormatSafetyNumber groups 60 digits in 12 groups of 5.
func FormatSafetyNumber(n string) string {
	var parts []string
	for i := 0; i+5 <= len(n); i += 5 {
		parts = append(parts, n[i:i+5])
	}
	return strings.Join(parts, " ")
}
