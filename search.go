package parley

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Message search limits.
const (
	SearchQueryMaxChars = 256 // characters (runes) of a search query, filters included
	SearchMaxTerms      = 8   // words and "phrases" of one query
	SearchSnippetChars  = 160 // characters (runes) of a snippet, about
)

// SearchOrder is the order of message search results.
type SearchOrder string

const (
	// SearchRecent lists the newest matches first (the default).
	SearchRecent SearchOrder = "recent"
	// SearchRelevance lists the best matches first (SQLite: bm25 over the
	// trigram index; PostgreSQL: ts_rank), newest first among equals.
	SearchRelevance SearchOrder = "relevance"
)

// Valid reports whether o is a defined order.
func (o SearchOrder) Valid() bool { return o == SearchRecent || o == SearchRelevance }

// SearchHas is a has: filter.
type SearchHas string

const (
	HasFile  SearchHas = "file"  // at least one attachment
	HasImage SearchHas = "image" // at least one attachment whose MIME type is image/*
	HasLink  SearchHas = "link"  // the body contains http:// or https://
)

// ParsedSearch is a search query as a user types it, split into its free
// text terms and its filters. Usernames and "me" are resolved by the app.
type ParsedSearch struct {
	Terms      []string    // each must occur in the body (case-insensitive substring)
	From       string      // from:username (canonical), "" for any sender
	In         string      // in:conversation_id, "" for every conversation
	Has        []SearchHas // every one must hold
	Before     time.Time   // before:: created strictly before (zero: no bound)
	After      time.Time   // after:: created at or after (zero: no bound)
	MentionsMe bool        // mentions:me
}

// Empty reports whether p selects nothing at all (no terms and no filters):
// such a query is refused rather than listing every message.
func (p ParsedSearch) Empty() bool {
	return len(p.Terms) == 0 && p.From == "" && p.In == "" && len(p.Has) == 0 &&
		p.Before.IsZero() && p.After.IsZero() && !p.MentionsMe
}

// ParseSearch splits a query into terms and filters. Terms are separated by
// white space; "double quotes" keep a phrase together. Filters are
// from:username (or from:@username), in:conversation_id, has:file|image|link,
// before:DATE and after:DATE (DATE is YYYY-MM-DD, a UTC day, or an RFC 3339
// time; before: excludes the day, after: starts the day after it, or just
// after the time), mentions:me. A word with a colon that is not one of these
// filters is an ordinary term. Errors (field "q"): empty, longer than
// SearchQueryMaxChars, more than SearchMaxTerms terms, a malformed filter
// value, or nothing to search for.
func ParseSearch(q string) (ParsedSearch, error) {
	var p ParsedSearch
	if !utf8.ValidString(q) {
		return p, Invalid("q", "q must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(q); n > SearchQueryMaxChars {
		return p, TooLarge("q", "q must be at most %d characters (got %d)", SearchQueryMaxChars, n)
	}
	for _, r := range q {
		if unicode.IsControl(r) && !unicode.IsSpace(r) || isBidiControl(r) {
			return p, Invalid("q", "q must not contain control characters (found %U)", r)
		}
	}
	for _, tok := range splitQuery(q) {
		if tok.quoted {
			p.Terms = append(p.Terms, tok.text)
			continue
		}
		key, val, ok := strings.Cut(tok.text, ":")
		if !ok || val == "" {
			p.Terms = append(p.Terms, tok.text)
			continue
		}
		var err error
		switch strings.ToLower(key) {
		case "from":
			p.From, err = CanonicalUsername(strings.TrimPrefix(val, "@"))
			if err != nil {
				return p, Invalid("q", "from: needs a username (from:alice)")
			}
		case "in":
			if !ValidID(val) {
				return p, Invalid("q", "in: needs a conversation id")
			}
			p.In = val
		case "has":
			h := SearchHas(strings.ToLower(val))
			if h != HasFile && h != HasImage && h != HasLink {
				return p, Invalid("q", "has: must be file, image or link")
			}
			p.Has = append(p.Has, h)
		case "before":
			t, _, err := parseSearchTime(val)
			if err != nil {
				return p, Invalid("q", "before: needs a date (YYYY-MM-DD) or an RFC 3339 time")
			}
			p.Before = t
		case "after":
			t, day, err := parseSearchTime(val)
			if err != nil {
				return p, Invalid("q", "after: needs a date (YYYY-MM-DD) or an RFC 3339 time")
			}
			if day {
				t = t.AddDate(0, 0, 1)
			} else {
				t = t.Add(time.Millisecond)
			}
			p.After = t
		case "mentions":
			if strings.ToLower(val) != "me" {
				return p, Invalid("q", "mentions: supports only mentions:me")
			}
			p.MentionsMe = true
		default:
			p.Terms = append(p.Terms, tok.text)
		}
	}
	if len(p.Terms) > SearchMaxTerms {
		return p, Invalid("q", "q may hold at most %d words or phrases", SearchMaxTerms)
	}
	if p.Empty() {
		return p, Invalid("q", "q must contain a word to search for or a filter")
	}
	if !p.Before.IsZero() && !p.After.IsZero() && !p.After.Before(p.Before) {
		return p, Invalid("q", "after: must be earlier than before:")
	}
	return p, nil
}

func parseSearchTime(s string) (t time.Time, day bool, err error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339, s)
	return t.UTC(), false, err
}

type queryToken struct {
	text   string
	quoted bool
}

// splitQuery splits on white space, keeping "quoted phrases" (an unclosed
// quote runs to the end) as single tokens without their quotes.
func splitQuery(q string) []queryToken {
	var toks []queryToken
	for {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		if q == "" {
			return toks
		}
		if q[0] == '"' {
			end := strings.IndexByte(q[1:], '"')
			var phrase string
			if end < 0 {
				phrase, q = q[1:], ""
			} else {
				phrase, q = q[1:1+end], q[2+end:]
			}
			if phrase = strings.TrimSpace(phrase); phrase != "" {
				toks = append(toks, queryToken{phrase, true})
			}
			continue
		}
		end := strings.IndexFunc(q, unicode.IsSpace)
		if end < 0 {
			end = len(q)
		}
		toks = append(toks, queryToken{q[:end], false})
		q = q[end:]
	}
}

// MessageSearch is a search as the app hands it to the store, after
// authorization and name resolution.
type MessageSearch struct {
	UserID         string   // the searcher: only conversations they are a current member of
	Terms          []string // each must occur in the body (see SearchStore)
	ConversationID string   // only this conversation ("" for all)
	SenderID       string   // only messages from this user ("" for all)
	Has            []SearchHas
	Since          time.Time // created at or after (zero: no bound)
	Until          time.Time // created strictly before (zero: no bound)
	MentionsUserID string    // only messages mentioning this user
	Order          SearchOrder
	Cursor         string // store-defined; "" for the first page
	Limit          int
}

// SearchStore finds messages.
type SearchStore interface {
	// SearchMessages returns up to q.Limit live (not deleted) user messages
	// (not system messages) of the conversations q.UserID is a current
	// member of, matching every filter of q, in q.Order, after q.Cursor,
	// with their reactions, and the cursor of the next page ("" when there
	// is none). Every term must occur in the body, compared
	// case-insensitively (at least ASCII letters are folded); a term of
	// three or more characters is served by the full-text index. The index
	// follows edits and deletes in the same transaction. CodeInvalid (field
	// cursor) for a cursor the store did not hand out for this order.
	SearchMessages(ctx context.Context, q MessageSearch) ([]Message, string, error)
}

// SearchHit is one message found, with a highlighted snippet of its body.
type SearchHit struct {
	Message Message       `json:"message"`
	Snippet []SnippetPart `json:"snippet"`
}

// SnippetPart is one piece of a highlighted snippet: clients render Text as
// plain text, emphasised when Hit. The parts concatenate to the snippet.
type SnippetPart struct {
	Text string `json:"text"`
	Hit  bool   `json:"hit,omitempty"`
}

// Snippet returns about maxChars characters of body around the first
// occurrence of any term, split into parts with every occurrence of a term
// (case-insensitive) marked as a hit. A cut is marked with "…". Without an
// occurrence it is the start of the body.
func Snippet(body string, terms []string, maxChars int) []SnippetPart {
	rs := []rune(body)
	low := make([]rune, len(rs))
	for i, r := range rs {
		low[i] = unicode.ToLower(r)
	}
	hit := make([]bool, len(rs))
	first := -1
	for _, t := range terms {
		tr := []rune(strings.ToLower(t))
		if len(tr) == 0 {
			continue
		}
		for i := 0; i+len(tr) <= len(low); i++ {
			if runesEqual(low[i:i+len(tr)], tr) {
				for j := i; j < i+len(tr); j++ {
					hit[j] = true
				}
				if first < 0 || i < first {
					first = i
				}
			}
		}
	}
	start, end := 0, len(rs)
	if maxChars > 0 && len(rs) > maxChars {
		if first > maxChars/4 {
			start = first - maxChars/4
		}
		end = min(start+maxChars, len(rs))
		if end-start < maxChars {
			start = max(0, end-maxChars)
		}
	}
	var parts []SnippetPart
	add := func(s string, h bool) {
		if n := len(parts); n > 0 && parts[n-1].Hit == h {
			parts[n-1].Text += s
			return
		}
		parts = append(parts, SnippetPart{Text: s, Hit: h})
	}
	if start > 0 {
		add("…", false)
	}
	for i := start; i < end; {
		j := i
		for j < end && hit[j] == hit[i] {
			j++
		}
		add(string(rs[i:j]), hit[i])
		i = j
	}
	if end < len(rs) {
		add("…", false)
	}
	if parts == nil {
		parts = []SnippetPart{}
	}
	return parts
}

func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
