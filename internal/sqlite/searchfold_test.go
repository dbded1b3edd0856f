package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The check of rows the index returns (termsCheck) may only refuse a row
// the tokenizer's folding would refuse: every two characters the trigram
// tokenizer folds to one, searchFold folds to one, and it drops what the
// tokenizer drops. SQLite's fold tables end
// below U+1F000; the test reads the tokenizer's fold of every character
// below U+20000 from a probe table's vocabulary.
func TestSearchFoldCoversTokenizer(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE VIRTUAL TABLE probe USING fts5(b, content = '', tokenize = 'trigram remove_diacritics 1', detail = 'full');
		CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, 'instance');`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO probe (rowid, b) VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := rune(1); r < 0x20000; r++ {
		if probeSkips(r) {
			continue
		}
		if _, err := ins.Exec(int64(r), strings.Repeat(string(r), 3)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT term, doc FROM probe_terms`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen, folded, bad := 0, 0, 0
	indexed := map[rune]bool{}
	for rows.Next() {
		var term string
		var doc int64
		if err := rows.Scan(&term, &doc); err != nil {
			t.Fatal(err)
		}
		seen++
		r := rune(doc)
		indexed[r] = true
		f, size := utf8.DecodeRuneInString(term)
		if term != strings.Repeat(term[:size], 3) {
			t.Fatalf("%U: the tokenizer made %q, not one character thrice", r, term)
		}
		if f != r {
			folded++
		}
		if foldRune(r) != foldRune(f) {
			bad++
			if bad <= 20 {
				t.Errorf("%U %q: the tokenizer folds it to %U %q, searchFold to %U and %U", r, r, f, f, foldRune(r), foldRune(f))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The characters that made no trigram are the ones the tokenizer
	// drops, and searchFold drops exactly those.
	drops := 0
	for r := rune(1); r < 0x20000; r++ {
		if probeSkips(r) || indexed[r] {
			continue
		}
		drops++
		if !tokenizerDrops(r) || foldRune(r) != dropped {
			t.Errorf("%U: the tokenizer drops it, searchFold does not", r)
		}
	}
	for r := rune(1); r < 0x20000; r++ {
		if tokenizerDrops(r) && indexed[r] {
			t.Errorf("%U: the tokenizer keeps it, searchFold drops it", r)
		}
	}
	if seen+drops != n || folded < 1000 || drops > 100 {
		t.Fatalf("probe read %d of %d characters, %d dropped, %d folded: the probe is broken", seen, n, drops, folded)
	}
}

// probeSkips reports the characters TestSearchFoldCoversTokenizer does not
// ask SQLite about (to keep it fast under -race): surrogates, which are not
// characters, and the big blocks without case or marks (CJK ideographs,
// Hangul syllables, private use), which searchFold leaves as they are.
func probeSkips(r rune) bool {
	return r >= 0x3400 && r <= 0x4DBF || r >= 0x4E00 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7A3 ||
		r >= 0xD800 && r <= 0xF8FF
}

func TestSearchFoldKeepsUncasedBlocks(t *testing.T) {
	for r := rune(1); r < 0x20000; r++ {
		if probeSkips(r) && !(r >= 0xD800 && r < 0xE000) && foldRune(r) != r {
			t.Fatalf("%U: searchFold changes it, so the probe must read it", r)
		}
	}
}

// Searches through the index find exactly the messages that hold every
// term under searchFold and every trigram of it under the tokenizer's
// folding: everything a phrase query on an index with positions found
// (the oracle below), and not a message that holds a term's trigrams
// apart ("tent" in "ten entries").
func TestSearchWithoutPositions(t *testing.T) {
	useIndex(t)
	ctx := context.Background()
	f := newSearchFixture(t, t.TempDir())
	defer f.s.Close()
	bodies := []string{
		"ten entries", "a tent outside", "TENT", "Lunch at the Harbour CAFÉ?", "the cafe opens", "Cafè crème",
		"Ὀδυσσεύς came home", "ΟΔΥΣΣΕΥΣ", "odysseus", "straße and STRASSE", "ſtraße long s",
		"今日は東京で会議があります", "東京 京都", "สวัสดีครับ เพื่อน", "Søren Kierkegaard", "soren", "İstanbul", "istanbul",
		"e\u0301cole decomposed", "école composed", "emoji 👍🏽 thumbs 👍🏽👍🏽", "quote \"inside\" here", "aaaa", "aaa aaa",
		"tab\there and  two spaces", "Mötley Crüe", "motley crue", "мой дом", "мои дома", "ǅungla", "ǆungla",
	}
	at := time.Now().Add(-time.Hour)
	for i, b := range bodies {
		f.post(b, at.Add(time.Duration(i)*time.Second))
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)

	// The oracle: the same tokenizer with positions.
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE VIRTUAL TABLE o USING fts5(b, tokenize = 'trigram remove_diacritics 1', detail = 'full')`); err != nil {
		t.Fatal(err)
	}
	for i, b := range bodies {
		if _, err := db.Exec(`INSERT INTO o (rowid, b) VALUES (?, ?)`, i+1, b); err != nil {
			t.Fatal(err)
		}
	}
	match := func(q string) []string {
		rows, err := db.Query(`SELECT b FROM o WHERE o MATCH ? ORDER BY rowid DESC`, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		out := []string{}
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}

	terms := []string{"tent", "ten", "cafe", "CAFÉ", "café", "crème", "οδυσσευς", "ὀδυσσεύς", "ΣΣΕΥΣ", "strasse", "straße",
		"東京で", "東京 京", "วัสดี", "soren", "søren", "istanbul", "İstanbul", "école", "e\u0301cole", "👍🏽👍🏽", "👍🏽 t",
		`"inside"`, "aaaa", "aaa", "\there", "  two", "crüe", "CRUE", "мой", "мои", "дома", "ǅungla", "ǲun", "zzzz"}
	for _, term := range terms {
		phrase := match(`"` + strings.ReplaceAll(term, `"`, `""`) + `"`)
		want := []string{}
		for _, b := range match(ftsQuery([]string{term})) {
			if strings.Contains(searchFold(b), searchFold(term)) {
				want = append(want, b)
			}
		}
		got := f.find(term)
		if !slices.Equal(got, want) {
			t.Errorf("%q: found %q, want %q", term, got, want)
		}
		for _, b := range phrase {
			if !slices.Contains(got, b) {
				t.Errorf("%q: %q, found with positions, is missing", term, b)
			}
		}
	}
	// The same, written out.
	for term, want := range map[string][]string{
		"tent":        {"TENT", "a tent outside"},
		"école":       {"école composed", "e\u0301cole decomposed"},
		"e\u0301cole": {"école composed", "e\u0301cole decomposed"},
		"straße":      {"ſtraße long s", "straße and STRASSE"},
		"ΟΔΥΣΣΕΥΣ":    {"ΟΔΥΣΣΕΥΣ"},
	} {
		if got := f.find(term); !slices.Equal(got, want) {
			t.Errorf("%q: found %q, want %q", term, got, want)
		}
	}
	if got := f.find("cafe"); len(got) != 3 {
		t.Fatalf("cafe: diacritics are folded through the index: %q", got)
	}
}

// An index built with positions by an earlier version is dropped and
// rebuilt without them at the next start, also when the start that dropped
// it stopped right after; searches stay exact meanwhile.
func TestSearchIndexWithPositionsRebuilt(t *testing.T) {
	useIndex(t)
	ctx := context.Background()
	dir := t.TempDir()
	f := newSearchFixture(t, dir)
	for _, b := range []string{"old words here", "more old words", "unrelated"} {
		f.post(b, time.Now())
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	want := f.find("words")
	if len(want) != 2 {
		t.Fatalf("before: %q", want)
	}
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	// What an earlier version left: the table with positions, fully indexed.
	ix, err := sql.Open("sqlite", "file:"+filepath.Join(dir, IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE messages_fts`,
		`CREATE VIRTUAL TABLE messages_fts USING fts5(body, content = '', contentless_delete = 1,
			tokenize = 'trigram remove_diacritics 1', detail = 'full')`,
		`INSERT INTO messages_fts (rowid, body) SELECT 1, 'old words here'`} {
		if _, err := ix.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	// A start that stops right after dropping that table leaves no state,
	// so the next one rebuilds (not an empty table with the old progress).
	afterIndexDrop = func() error { return errors.New("stopped here") }
	s, err := Open(ctx, dir)
	afterIndexDrop = nil
	if err == nil {
		s.Close()
		t.Fatal("Open went on past the stop")
	}
	f = newSearchFixture(t, dir)
	defer f.s.Close()
	var def string
	var indexed int64
	if err := f.s.read.QueryRow(`SELECT (SELECT sql FROM ix.sqlite_master WHERE name = 'messages_fts'),
		(SELECT indexed_rid FROM ix.search_index_state)`).Scan(&def, &indexed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "detail = 'none'") || indexed != 0 {
		t.Fatalf("not rebuilt: indexed_rid %d, %s", indexed, def)
	}
	if got := f.find("words"); !slices.Equal(got, want) {
		t.Fatalf("while rebuilding: %q", got)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
	if got := f.find("words"); !slices.Equal(got, want) {
		t.Fatalf("rebuilt: %q", got)
	}
}
