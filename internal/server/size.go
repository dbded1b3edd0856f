package server

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// sizeUnits are the byte units a size setting accepts, with their factors:
// decimal (kB, MB, GB, TB: powers of 1000) and binary (KiB, MiB, GiB, TiB:
// powers of 1024). Units are matched case-insensitively, except that the
// binary ones need their "i" ("1gb" is 10^9, "1gib" is 2^30).
var sizeUnits = []struct {
	unit   string
	factor int64
}{
	{"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"tb", 1e12}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1},
}

// sizeForms is the help text naming the accepted forms; sizeFormsLong, the
// error text.
const (
	sizeForms     = "bytes, or with a unit: 100MB, 1GiB (MB = 10^6, MiB = 2^20)"
	sizeFormsLong = "a byte count (1048576), or a number with a unit: 100MB, 1.5GB, 1GiB, 512KiB (kB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024)"
)

// ParseSize reads a byte count: plain digits ("1048576"), or a number
// (decimals allowed) followed by one of the units above, with or without a
// space ("100MB", "1.5 GiB"). The result must be a whole, non-negative
// number of bytes that fits in an int64.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	num, factor := t, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.unit) {
			num, factor = strings.TrimSpace(strings.TrimSuffix(t, u.unit)), u.factor
			break
		}
	}
	bad := fmt.Errorf("invalid size %q: want %s", s, sizeFormsLong)
	if num == "" || strings.ContainsAny(num, "+-eE_xX") {
		return 0, bad
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, bad
	}
	r.Mul(r, new(big.Rat).SetInt64(factor))
	if !r.IsInt() {
		return 0, fmt.Errorf("invalid size %q: not a whole number of bytes", s)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("invalid size %q: too large (at most %d bytes)", s, int64(math.MaxInt64))
	}
	return r.Num().Int64(), nil
}

// FormatSize writes n in the largest binary unit that divides it exactly
// (1048576 → "1MiB", 1500 → "1500B"), so that ParseSize(FormatSize(n)) == n.
func FormatSize(n int64) string {
	for _, u := range []struct {
		unit   string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.unit
		}
	}
	return strconv.FormatInt(n, 10)
}

// sizeValue is a flag.Value for byte counts (ParseSize).
type sizeValue int64

func (v *sizeValue) String() string { return FormatSize(int64(*v)) }
func (v *sizeValue) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}
