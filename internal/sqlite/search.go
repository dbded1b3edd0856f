package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// trigramMin is the shortest term the trigram index can serve; shorter terms
// are matched with LIKE on the rows the other conditions select.
const trigramMin = 3

// Plan choice (see docs/search.md and BenchmarkSearch1M).
var (
	// scanMax is the number of messages in the searched conversations up to
	// which scanning them beats the index: a scan costs about a microsecond
	// per message whatever the words, the index costs per match of the
	// word anywhere, in conversations the caller cannot see too. Tests
	// lower it to exercise the index.
	scanMax atomic.Int64
)

// rankWindow is how many of the newest matches relevance order ranks.
const rankWindow = 1000

func init() { scanMax.Store(50_000) }

// SearchMessages implements parley.SearchStore. The index is
// ix.messages_fts in its own file (searchindex.go, migration 0130): it
// covers the live user messages up to indexed_rid, except the rids queued
// in search_changes after applied_seq (edited or deleted since).
//
// Plans, all in one read transaction that reads the index state first, so
// that its snapshot of the messages database is at least as new as the
// index's: everything the index does not cover is then in that snapshot's
// rows after indexed_rid or in its queue after applied_seq. When the
// searched conversations hold at most scanMax messages (conversation_heads),
// or no term has three or more characters, their messages are scanned
// newest first with case-folded substring matches. Otherwise the rows the
// index does not cover are scanned the same way, the index serves the rest,
// and the two lists, each newest first, are merged by rid. Relevance order
// takes the rankWindow newest matches and ranks them (searchrank.go). The
// membership condition is applied to every candidate row. Cursors:
// "r<rid>" for SearchRecent (the rid of the last row), "o<offset>" for
// SearchRelevance.
func (s *Store) SearchMessages(ctx context.Context, q parley.MessageSearch) ([]parley.Message, string, error) {
	var long, short []string
	for _, t := range q.Terms {
		if len(trigramText(t)) >= trigramMin {
			long = append(long, t)
		} else {
			short = append(short, t)
		}
	}
	relevance := q.Order == parley.SearchRelevance && len(q.Terms) > 0
	var afterRid, offset int64
	if q.Cursor != "" {
		var err error
		switch {
		case !relevance && strings.HasPrefix(q.Cursor, "r"):
			afterRid, err = strconv.ParseInt(q.Cursor[1:], 10, 64)
			if afterRid <= 0 {
				err = errBadCursor
			}
		case relevance && strings.HasPrefix(q.Cursor, "o"):
			offset, err = strconv.ParseInt(q.Cursor[1:], 10, 64)
			if offset <= 0 || offset >= rankWindow {
				err = errBadCursor
			}
		default:
			err = errBadCursor
		}
		if err != nil {
			return nil, "", parley.Invalid("cursor", "cursor is not one this server handed out")
		}
	}

	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for every part
	if err != nil {
		return nil, "", translate(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	useFTS := false
	var indexed, applied int64
	if len(long) > 0 {
		// The index first (see above).
		if err := tx.QueryRowContext(ctx, `SELECT indexed_rid, applied_seq FROM ix.search_index_state`).Scan(&indexed, &applied); err != nil {
			return nil, "", translate(err)
		}
		var visible int64
		sb := strings.Builder{}
		sb.WriteString(`SELECT coalesce(sum(h.last_seq), 0) FROM conversation_heads h
			JOIN conversations c2 ON c2.num = h.num JOIN members mb ON mb.conversation_id = c2.id WHERE mb.user_id = ?`)
		args := []any{q.UserID}
		if q.ConversationID != "" {
			sb.WriteString(` AND c2.id = ?`)
			args = append(args, q.ConversationID)
		}
		if err := tx.QueryRowContext(ctx, sb.String(), args...).Scan(&visible); err != nil {
			return nil, "", translate(err)
		}
		useFTS = visible > scanMax.Load()
	}
	// newest returns up to limit matches newest first, before afterRid.
	newest := func(afterRid int64, limit int) ([]parley.Message, int64, error) {
		if !useFTS {
			ms, rids, err := searchQuery(ctx, tx, q, q.Terms, "", nil, false, afterRid, limit)
			return ms, lastOf(rids), err
		}
		// Three disjoint parts: the rows after indexed_rid, the rows queued
		// since applied_seq (few: edits and deletes), and the index.
		newer, nrids, err := searchQuery(ctx, tx, q, q.Terms, ` AND m.rid > ?`, []any{indexed}, true, afterRid, limit)
		if err != nil {
			return nil, 0, err
		}
		changed, crids, err := searchQuery(ctx, tx, q, q.Terms,
			` AND m.rid <= ? AND m.rid IN (SELECT rid FROM search_changes WHERE seq > ?)`, []any{indexed, applied}, true, afterRid, limit)
		if err != nil {
			return nil, 0, err
		}
		found, frids, err := searchFTS(ctx, tx, q, long, short, indexed, applied, afterRid, limit)
		if err != nil {
			return nil, 0, err
		}
		ms, rids := mergeNewest(newer, nrids, changed, crids, limit)
		ms, rids = mergeNewest(ms, rids, found, frids, limit)
		return ms, lastOf(rids), nil
	}
	var ms []parley.Message
	next := ""
	if relevance {
		var all []parley.Message
		if all, _, err = newest(0, rankWindow); err == nil {
			rankMessages(all, q.Terms)
			end := min(len(all), int(offset)+q.Limit)
			if int(offset) < end {
				ms = all[offset:end]
			}
			if end < len(all) {
				next = "o" + strconv.Itoa(end)
			}
		}
	} else {
		var lastRid int64
		if ms, lastRid, err = newest(afterRid, q.Limit); err == nil && len(ms) == q.Limit && q.Limit > 0 {
			next = "r" + strconv.FormatInt(lastRid, 10)
		}
	}
	if err != nil {
		return nil, "", translate(err)
	}
	if ms == nil {
		ms = []parley.Message{}
	}
	if err := parley.ForEachConversation(ms, func(sub []parley.Message) error { return s.loadReactions(ctx, sub) }); err != nil {
		return nil, "", translate(err)
	}
	return ms, next, nil
}

// filters appends q's conditions other than its terms (membership first).
// byRid keeps the planner from driving the query by the conversation index
// (unary + on m.conv), for parts whose other conditions select few rows
// by rid: without statistics it would read every message of the caller's
// conversations instead.
func filters(sb *strings.Builder, args []any, q parley.MessageSearch, byRid bool) []any {
	conv := ` AND m.conv`
	if byRid {
		conv = ` AND +m.conv`
	}
	if q.ConversationID != "" {
		sb.WriteString(conv + ` = (SELECT c2.num FROM conversations c2 JOIN members mb
			ON mb.conversation_id = c2.id AND mb.user_id = ? WHERE c2.id = ?)`)
		args = append(args, q.UserID, q.ConversationID)
	} else {
		sb.WriteString(conv + ` IN (SELECT c2.num FROM members mb JOIN conversations c2
			ON c2.id = mb.conversation_id WHERE mb.user_id = ?)`)
		args = append(args, q.UserID)
	}
	if q.SenderID != "" {
		sb.WriteString(` AND m.sender_id = ?`)
		args = append(args, q.SenderID)
	}
	for _, h := range q.Has {
		switch h {
		case parley.HasFile:
			sb.WriteString(` AND m.attachments <> ''`)
		case parley.HasImage:
			sb.WriteString(` AND m.attachments LIKE '%"mime":"image/%'`)
		case parley.HasLink:
			sb.WriteString(` AND (m.body LIKE '%http://%' OR m.body LIKE '%https://%')`)
		}
	}
	if !q.Since.IsZero() {
		sb.WriteString(` AND m.created_at >= ?`)
		args = append(args, millis(q.Since))
	}
	if !q.Until.IsZero() {
		sb.WriteString(` AND m.created_at < ?`)
		args = append(args, millis(q.Until))
	}
	if q.MentionsUserID != "" {
		sb.WriteString(` AND ' ' || m.mentions || ' ' LIKE ?`)
		args = append(args, "% "+q.MentionsUserID+" %")
	}
	return args
}

// termsScan appends a case-insensitive substring condition per term, the
// cheapest that is exact: LIKE for ASCII terms (SQLite's LIKE folds ASCII
// case), instr for terms without case (Chinese, Japanese, Thai…), and
// instr over parley_fold(body) (a Go callback, several times slower) for
// the rest.
func termsScan(sb *strings.Builder, args []any, terms []string) []any {
	for _, t := range terms {
		switch {
		case isASCII(t):
			sb.WriteString(` AND m.body LIKE ? ESCAPE '\'`)
			args = append(args, "%"+escapeLike(t)+"%")
		case strings.ToLower(t) == t && strings.ToUpper(t) == t:
			sb.WriteString(` AND instr(m.body, ?) > 0`)
			args = append(args, t)
		default:
			sb.WriteString(` AND instr(parley_fold(m.body), ?) > 0`)
			args = append(args, strings.ToLower(t))
		}
	}
	return args
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// searchQuery scans messages newest first (no index), with every term
// matched by termsScan, plus extra conditions, before afterRid (if > 0).
// It returns the messages and their rids.
func searchQuery(ctx context.Context, tx *sql.Tx, q parley.MessageSearch, terms []string, extra string, extraArgs []any,
	byRid bool, afterRid int64, limit int) ([]parley.Message, []int64, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT m.rid, ` + messageCols + messageFrom + ` WHERE m.kind = 'user' AND m.deleted = 0` + extra)
	args := append([]any(nil), extraArgs...)
	args = filters(&sb, args, q, byRid)
	args = termsScan(&sb, args, terms)
	if afterRid > 0 {
		sb.WriteString(` AND m.rid < ?`)
		args = append(args, afterRid)
	}
	sb.WriteString(` ORDER BY m.rid DESC LIMIT ?`)
	args = append(args, limit)
	return scanSearch(ctx, tx, sb.String(), args)
}

// searchFTS queries the index newest first, before afterRid (if > 0), for
// the rows it covers: rid at most indexed, not queued after applied; each
// long term is checked on the body (termsCheck), each short one matched
// as in a scan. An entry whose row was deleted since is dropped by the
// join and the conditions on m. It returns the messages and their rids.
func searchFTS(ctx context.Context, tx *sql.Tx, q parley.MessageSearch, long, short []string, indexed, applied, afterRid int64,
	limit int) ([]parley.Message, []int64, error) {
	var sb strings.Builder
	// CROSS JOIN fixes the join order: the index drives, messages are
	// looked up by rid.
	sb.WriteString(`SELECT m.rid, ` + messageCols + ` FROM ix.messages_fts f CROSS JOIN messages m ON m.rid = f.rowid
		CROSS JOIN conversations c ON c.num = m.conv WHERE f.messages_fts MATCH ? AND f.rowid <= ?
		AND f.rowid NOT IN (SELECT rid FROM search_changes WHERE seq > ?) AND m.kind = 'user' AND m.deleted = 0`)
	args := []any{ftsQuery(long), indexed, applied}
	args = filters(&sb, args, q, true)
	args = termsCheck(&sb, args, long)
	args = termsScan(&sb, args, short)
	if afterRid > 0 {
		sb.WriteString(` AND f.rowid < ?`)
		args = append(args, afterRid)
	}
	sb.WriteString(` ORDER BY f.rowid DESC LIMIT ?`)
	args = append(args, limit)
	return scanSearch(ctx, tx, sb.String(), args)
}

// scanSearch runs a search query and returns its messages and their rids.
func scanSearch(ctx context.Context, tx *sql.Tx, query string, args []any) ([]parley.Message, []int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	ms := []parley.Message{}
	var rids []int64
	for rows.Next() {
		var rid int64
		m, err := scanMessage(ridScanner{rows, &rid})
		if err != nil {
			return nil, nil, err
		}
		ms, rids = append(ms, m), append(rids, rid)
	}
	return ms, rids, rows.Err()
}

// mergeNewest merges two disjoint lists of messages ordered by rid
// descending and returns the first limit of them with their rids.
func mergeNewest(a []parley.Message, arids []int64, b []parley.Message, brids []int64, limit int) ([]parley.Message, []int64) {
	out := make([]parley.Message, 0, min(limit, len(a)+len(b)))
	rids := make([]int64, 0, cap(out))
	for len(out) < limit && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || (len(a) > 0 && arids[0] > brids[0]) {
			out, rids, a, arids = append(out, a[0]), append(rids, arids[0]), a[1:], arids[1:]
		} else {
			out, rids, b, brids = append(out, b[0]), append(rids, brids[0]), b[1:], brids[1:]
		}
	}
	return out, rids
}

func lastOf(rids []int64) int64 {
	if len(rids) == 0 {
		return 0
	}
	return rids[len(rids)-1]
}

var errBadCursor = parley.Invalid("cursor", "bad cursor")

// ridScanner scans the leading rid column, then hands the rest to scanMessage.
type ridScanner struct {
	rows *sql.Rows
	rid  *int64
}

func (r ridScanner) Scan(dest ...any) error {
	return r.rows.Scan(append([]any{r.rid}, dest...)...)
}

// ftsQuery is an FTS5 query matching the rows that hold every trigram of
// every term (each of at least trigramMin characters): each run of three
// characters of a term becomes a quoted string (quotes doubled), which the
// tokenizer folds and reads as exactly one trigram, so the query's
// trigrams are cut from the text as the index's were. The index has no
// positions (detail=none), so for a term longer than three characters this
// is a superset of the rows containing it; searchFTS checks those rows.
func ftsQuery(terms []string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, t := range terms {
		rs := trigramText(t)
		for i := 0; i+trigramMin <= len(rs); i++ {
			g := string(rs[i : i+trigramMin])
			if seen[g] {
				continue
			}
			seen[g] = true
			if b.Len() > 0 {
				b.WriteString(" AND ")
			}
			b.WriteString(`"` + strings.ReplaceAll(g, `"`, `""`) + `"`)
		}
	}
	return b.String()
}

// termsCheck appends, for each term longer than a trigram, the condition
// that the body contains it under searchFold: the check of the rows the
// index returned for it (ftsQuery).
func termsCheck(sb *strings.Builder, args []any, terms []string) []any {
	for _, t := range terms {
		if len(trigramText(t)) > trigramMin {
			sb.WriteString(` AND instr(parley_search_fold(m.body), ?) > 0`)
			args = append(args, searchFold(t))
		}
	}
	return args
}

// escapeLike escapes LIKE's wildcards with backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
