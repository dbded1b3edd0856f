package parley

import (
	"math/bits"
	"strings"
	"unicode"
)

// PersonName is what people search reads of an account to match names:
// its id, username and display name.
type PersonName struct {
	ID          string
	Username    string
	DisplayName string
}

// MaxTypos is how many edits (insertions, deletions, substitutions or
// swaps of two neighbours) a query of n characters tolerates: none under 4
// (too many short names are one edit apart), one under 8, two from 8.
func MaxTypos(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 8:
		return 1
	default:
		return 2
	}
}

// MatchPerson decides whether query names p despite typos and how closely:
// it compares the case-folded query with the username and with each word
// of the display name, and with the prefix of each that is about as long as
// the query (so a name being typed still matches), and returns the fewest
// edits found. ok is false when that exceeds MaxTypos(len(query)). A query
// that is a substring of a name is not a typo match: FindPeople's exact pass
// finds those first. For many names, NewPersonMatcher avoids the
// allocations.
func MatchPerson(query string, p PersonName) (edits int, ok bool) {
	return NewPersonMatcher(query).Match(p)
}

// PersonMatcher is MatchPerson for one query over many names, reusing its
// buffers. It is not safe for concurrent use.
type PersonMatcher struct {
	q               []rune
	qmask           uint64 // bit r&63 set for each rune r of q
	limit           int
	name            []rune
	prev2, prev, cu []int
}

// NewPersonMatcher prepares MatchPerson for query.
func NewPersonMatcher(query string) *PersonMatcher {
	q := []rune(strings.ToLower(query))
	return &PersonMatcher{q: q, qmask: runeMask(q), limit: MaxTypos(len(q))}
}

func runeMask(rs []rune) uint64 {
	var m uint64
	for _, r := range rs {
		m |= 1 << (r & 63)
	}
	return m
}

// Match is MatchPerson(query, p).
func (m *PersonMatcher) Match(p PersonName) (edits int, ok bool) {
	if m.limit == 0 {
		return 0, false
	}
	// Each distinct character of the query that no name has costs an edit:
	// most names are rejected here, before any distance is computed.
	var names uint64
	for _, s := range [2]string{p.Username, p.DisplayName} {
		for _, r := range s {
			names |= 1 << (unicode.ToLower(r) & 63)
		}
	}
	if bits.OnesCount64(m.qmask&^names) > m.limit {
		return 0, false
	}
	best := m.match(p.Username, m.limit+1)
	rest := p.DisplayName
	for best > 0 && rest != "" {
		i := strings.IndexFunc(rest, wordSep)
		word := rest
		if i >= 0 {
			word, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if word != "" {
			best = m.match(word, best)
		}
	}
	if best > m.limit {
		return 0, false
	}
	return best, true
}

func wordSep(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '_' || r == '.' }

// match returns min(best, the fewest edits between the query and name or a
// prefix of name within one character of the query's length).
func (m *PersonMatcher) match(name string, best int) int {
	m.name = m.name[:0]
	for _, r := range name {
		m.name = append(m.name, unicode.ToLower(r))
	}
	r := m.name
	if len(r) < len(m.q)-m.limit {
		return best
	}
	if cap(m.prev) < len(r)+1 {
		m.prev2, m.prev, m.cu = make([]int, len(r)+1), make([]int, len(r)+1), make([]int, len(r)+1)
	}
	row := typoRows(m.q, r, m.limit, m.prev2[:len(r)+1], m.prev[:len(r)+1], m.cu[:len(r)+1])
	if row == nil {
		return best
	}
	// row[j] is the distance from the query to r[:j].
	for _, j := range []int{len(m.q) - 1, len(m.q), len(m.q) + 1, len(r)} {
		if j > 0 && j <= len(r) && row[j] < best {
			best = row[j]
		}
	}
	return best
}

// TypoDistance returns the optimal string alignment distance between a and
// b (Levenshtein plus swaps of two neighbours), or max+1 as soon as the
// distance is known to exceed max.
func TypoDistance(a, b []rune, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	n := len(b) + 1
	row := typoRows(a, b, max, make([]int, n), make([]int, n), make([]int, n))
	if row == nil || row[len(b)] > max {
		return max + 1
	}
	return row[len(b)]
}

// typoRows runs the optimal string alignment dynamic programme of a against
// b in the three given rows (each len(b)+1) and returns the last: entry j
// is the distance from a to b[:j]. It returns nil once every entry of a row
// exceeds max (no prefix of b is within max).
func typoRows(a, b []rune, max int, prev2, prev, cur []int) []int {
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return nil
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev
}
