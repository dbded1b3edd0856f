package sqlite

import (
	"database/sql/driver"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	sqlite3 "modernc.org/sqlite"
)

// The search index stores trigrams without positions (detail=none), so the
// index can only tell that a message holds every trigram of a term, not
// that they are adjacent. Rows the index returns for a term longer than a
// trigram are therefore checked against the body with searchFold, which
// must fold at least as much as the index's tokenizer (trigram,
// remove_diacritics 1): two characters the tokenizer folds to one must fold
// to one here too, or a checked row the index found would be refused. It
// may fold more (a few scripts' case pairs the tokenizer leaves apart):
// the index then still decides, so results are never wider than what the
// index allows. TestSearchFoldCoversTokenizer proves it for every
// character SQLite reads.
//
// searchFold maps every character to one character or to nothing: the
// combining marks the tokenizer drops (tokenizerDrops) to nothing, the
// rest case folded through upper to lower (so the Greek final sigma and the
// long s fold with their letters), then to the base letter of a canonical
// decomposition whose other parts are all nonspacing marks (é → e, ǘ → u).
// Folding one character at a time, as the tokenizer does, keeps a
// substring a substring: a body holding a term after the tokenizer's
// folding holds it after searchFold's.

// tokenizerDrops reports whether the trigram tokenizer (remove_diacritics
// 1) drops r from the text: 25 combining diacritical marks, measured
// (TestSearchFoldCoversTokenizer reads every character's fold from SQLite).
// A decomposed "e\u0301cole" is indexed as "ecole".
func tokenizerDrops(r rune) bool {
	switch r {
	case 0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0x309, 0x30A, 0x30B, 0x30C, 0x30F,
		0x311, 0x31B, 0x323, 0x324, 0x325, 0x326, 0x327, 0x328, 0x32D, 0x32E, 0x330, 0x331:
		return true
	}
	return false
}

// trigramText is t without the characters the tokenizer drops: the text
// the index cut t's trigrams from.
func trigramText(t string) []rune {
	rs := make([]rune, 0, len(t))
	for _, r := range t {
		if !tokenizerDrops(r) {
			rs = append(rs, r)
		}
	}
	return rs
}

// foldBMP caches searchFold's mapping of the Basic Multilingual Plane.
var (
	foldOnce sync.Once
	foldBMP  []rune
)

// dropped is foldRune's answer for a character searchFold removes.
const dropped = -1

func foldRuneSlow(r rune) rune {
	if tokenizerDrops(r) {
		return dropped
	}
	if r == 0xFFFE || r == 0xFFFF {
		return utf8.RuneError // noncharacters: SQLite reads them as U+FFFD
	}
	r = unicode.ToLower(unicode.ToUpper(r))
	if r < utf8.RuneSelf {
		return r
	}
	d := norm.NFD.String(string(r))
	base, n := utf8.DecodeRuneInString(d)
	for _, m := range d[n:] {
		if !unicode.Is(unicode.Mn, m) {
			return r
		}
	}
	return base
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	if r > 0xFFFF {
		return foldRuneSlow(r)
	}
	foldOnce.Do(func() {
		foldBMP = make([]rune, 0x10000)
		for c := range foldBMP {
			foldBMP[c] = foldRuneSlow(rune(c))
		}
	})
	return foldBMP[r]
}

// searchFold folds s one character at a time (see above); invalid UTF-8
// reads as U+FFFD, as SQLite reads it.
func searchFold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if f := foldRune(r); f != dropped {
			b.WriteRune(f)
		}
	}
	return b.String()
}

func init() {
	// parley_search_fold(s) is searchFold for checking rows the index
	// returned.
	sqlite3.MustRegisterDeterministicScalarFunction("parley_search_fold", 1,
		func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return searchFold(v), nil
			case []byte:
				return searchFold(string(v)), nil
			}
			return args[0], nil
		})
}
