package parley

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseSearch(t *testing.T) {
	p, err := ParseSearch(`  budget "next year" From:@Alice in:` + strings.Repeat("0", 26) +
		` has:IMAGE has:link before:2026-03-01 after:2026-01-31 mentions:me http://x.org/a:b`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Terms, "|") != "budget|next year|http://x.org/a:b" || p.From != "alice" || p.In != strings.Repeat("0", 26) ||
		len(p.Has) != 2 || p.Has[0] != HasImage || !p.MentionsMe ||
		!p.Before.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) ||
		!p.After.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", p)
	}
	p, err = ParseSearch(`after:2026-01-31T10:00:00+01:00 "unclosed phrase`)
	if err != nil || !p.After.Equal(time.Date(2026, 1, 31, 9, 0, 0, int(time.Millisecond), time.UTC)) ||
		len(p.Terms) != 1 || p.Terms[0] != "unclosed phrase" {
		t.Fatalf("%+v %v", p, err)
	}
	if p, err := ParseSearch(`has:file`); err != nil || len(p.Terms) != 0 {
		t.Fatalf("filter only: %+v %v", p, err)
	}
	if p, err := ParseSearch(`re: ":"`); err != nil || strings.Join(p.Terms, "|") != "re:|:" {
		t.Fatalf("colons: %+v %v", p, err)
	}
	for _, bad := range []string{"", "  ", `""`, "\xff", "a\x07", strings.Repeat("é", SearchQueryMaxChars+1),
		"from:x", "in:1", "has:gif", "before:2026", "after:tomorrow", "mentions:bob",
		"1 2 3 4 5 6 7 8 9", "after:2026-01-02 before:2026-01-02"} {
		if _, err := ParseSearch(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if e := AsError(err); e.Field != "q" || (e.Code != CodeInvalid && e.Code != CodeTooLarge) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func snippetString(ps []SnippetPart) string {
	var b strings.Builder
	for _, p := range ps {
		if p.Hit {
			b.WriteString("[" + p.Text + "]")
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func TestSnippet(t *testing.T) {
	for _, tc := range []struct {
		body  string
		terms []string
		max   int
		want  string
	}{
		{"Hello World, hello", []string{"hello"}, 100, "[Hello] World, [hello]"},
		{"東京で会議", []string{"会議"}, 100, "東京で[会議]"},
		{"abcabc", []string{"bca", "ab"}, 100, "[abcab]c"},
		{"no match here", []string{"zzz"}, 5, "no ma…"},
		{"0123456789target0123456789", []string{"target"}, 12, "…789[target]012…"},
		{"<script>alert(1)</script>", []string{"alert"}, 100, "<script>[alert](1)</script>"},
		{"", []string{"x"}, 10, ""},
	} {
		if got := snippetString(Snippet(tc.body, tc.terms, tc.max)); got != tc.want {
			t.Errorf("Snippet(%q, %q) = %q, want %q", tc.body, tc.terms, got, tc.want)
		}
	}
}

func FuzzParseSearch(f *testing.F) {
	f.Add(`budget "next year" from:alice has:file before:2026-01-01`)
	f.Add(`"`)
	f.Add(`in:` + strings.Repeat("z", 26))
	f.Fuzz(func(t *testing.T, q string) {
		p, err := ParseSearch(q)
		if err != nil {
			if AsError(err).Field != "q" {
				t.Fatalf("%q: %v", q, err)
			}
			return
		}
		if p.Empty() || len(p.Terms) > SearchMaxTerms {
			t.Fatalf("%q accepted as %+v", q, p)
		}
		for _, term := range p.Terms {
			if term == "" || !utf8.ValidString(term) {
				t.Fatalf("%q: term %q", q, term)
			}
			s := Snippet("x "+term+" y", p.Terms, 40)
			if len(s) == 0 {
				t.Fatalf("no snippet")
			}
		}
	})
}
