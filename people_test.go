package parley

import "testing"

func TestTypoDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		max  int
		want int
	}{
		{"alice", "alice", 2, 0},
		{"alcie", "alice", 2, 1},  // swap
		{"alic", "alice", 2, 1},   // deletion
		{"allice", "alice", 2, 1}, // insertion
		{"alixe", "alice", 2, 1},  // substitution
		{"bob", "alice", 2, 3},    // over max: max+1
		{"", "abc", 5, 3},
		{"zoë", "zoe", 1, 1}, // runes, not bytes
		{"abcdefgh", "a", 2, 3},
	} {
		if got := TypoDistance([]rune(c.a), []rune(c.b), c.max); got != c.want {
			t.Errorf("TypoDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.max, got, c.want)
		}
	}
}

func TestMatchPerson(t *testing.T) {
	alice := PersonName{ID: "1", Username: "alice_w", DisplayName: "Alice Wonderland"}
	for _, c := range []struct {
		q     string
		ok    bool
		edits int
	}{
		{"alcie", true, 1},         // swap, against the display name's first word
		{"Wondreland", true, 1},    // case folded; swap in the second word
		{"wonderlnd", true, 1},     // deletion
		{"alice_x", true, 1},       // username, one substitution
		{"alx", false, 0},          // three letters: no typos allowed
		{"bobby", false, 0},        // unrelated
		{"wndrlnd", false, 0},      // three edits for seven letters
		{"wonderlnad", true, 1},    // ten letters, one swap
		{"wonderlabd", true, 1},    // typo while typing
		{"xxxxxxxxxxxx", false, 0}, // long garbage
	} {
		edits, ok := MatchPerson(c.q, alice)
		if ok != c.ok || ok && edits != c.edits {
			t.Errorf("MatchPerson(%q) = %d, %v; want %d, %v", c.q, edits, ok, c.edits, c.ok)
		}
	}
}

func FuzzTypoDistance(f *testing.F) {
	f.Add("alice", "alcie", 2)
	f.Fuzz(func(t *testing.T, a, b string, max int) {
		if max < 0 || max > 8 || len(a) > 64 || len(b) > 64 {
			return
		}
		ra, rb := []rune(a), []rune(b)
		d := TypoDistance(ra, rb, max)
		if d < 0 || d > max+1 {
			t.Fatalf("distance %d outside [0, %d]", d, max+1)
		}
		if d2 := TypoDistance(rb, ra, max); d2 != d {
			t.Fatalf("not symmetric: %d vs %d", d, d2)
		}
		if (d == 0) != (string(ra) == string(rb)) {
			t.Fatalf("zero distance iff equal: %q %q %d", a, b, d)
		}
	})
}

// BenchmarkMatchPerson measures the typo pass's CPU per name read (one op =
// one name), the bound on a people search's scan (app.MaxTypoScan names).
func BenchmarkMatchPerson(b *testing.B) {
	p := PersonName{Username: "wonderland_42", DisplayName: "Alice Wonderland"}
	m := NewPersonMatcher("wondreland")
	for b.Loop() {
		m.Match(p)
	}
}

// BenchmarkMatchPersonMiss is the common case of the scan: a name that is
// not a match.
func BenchmarkMatchPersonMiss(b *testing.B) {
	p := PersonName{Username: "bob_smith", DisplayName: "Bob Smith"}
	m := NewPersonMatcher("wondreland")
	for b.Loop() {
		m.Match(p)
	}
}
