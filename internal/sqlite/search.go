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

// SearchMessages implements parley.SearchStore. The index is messages_fts
// (migrations 0020, 0022): the background indexer (searchindex.go) adds
// messages up to search_index_state.indexed_rid; edits and deletes of
// indexed rows update it in their own transaction (triggers).
//
// Plans, all in one read snapshot. When the searched conversations hold at
// most scanMax messages (conversation_heads), or no term has three or more
// characters, their messages are scanned newest first with case-folded
// substring matches. Otherwise the rows after indexed_rid (the newest few)
// are scanned the same way and the FTS5 index serves the rest, newest first
// (its rowid, which is messages.rid, descending). Relevance order takes the
// rankWindow newest matches and ranks them (searchrank.go). The membership
// condition is applied to every candidate row. Cursors: "r<rid>" for
// SearchRecent (the rid of the last row), "o<offset>" for SearchRelevance.
func (s *Store) SearchMessages(ctx context.Context, q parley.MessageSearch) ([]parley.Message, string, error) {
	var long, short []string
	for _, t := range q.Terms {
		if utf8.RuneCountInString(t) >= trigramMin {
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
	var indexed int64
	if len(long) > 0 {
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
		if useFTS = visible > scanMax.Load(); useFTS {
			if err := tx.QueryRowContext(ctx, `SELECT indexed_rid FROM search_index_state`).Scan(&indexed); err != nil {
				return nil, "", translate(err)
			}
		}
	}
	// newest returns up to limit matches newest first, before afterRid.
	newest := func(afterRid int64, limit int) ([]parley.Message, int64, error) {
		if !useFTS {
			return searchQuery(ctx, tx, q, q.Terms, "", nil, afterRid, limit)
		}
		// The rows after indexed_rid are the newest: scan them first.
		ms, last, err := searchQuery(ctx, tx, q, q.Terms, ` AND m.rid > ?`, []any{indexed}, afterRid, limit)
		if err != nil || len(ms) == limit {
			return ms, last, err
		}
		more, rid, err := searchFTS(ctx, tx, q, long, short, afterRid, limit-len(ms))
		if len(more) > 0 {
			ms, last = append(ms, more...), rid
		}
		return ms, last, err
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
func filters(sb *strings.Builder, args []any, q parley.MessageSearch) []any {
	if q.ConversationID != "" {
		sb.WriteString(` AND m.conv = (SELECT c2.num FROM conversations c2 JOIN members mb
			ON mb.conversation_id = c2.id AND mb.user_id = ? WHERE c2.id = ?)`)
		args = append(args, q.UserID, q.ConversationID)
	} else {
		sb.WriteString(` AND m.conv IN (SELECT c2.num FROM members mb JOIN conversations c2
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
func searchQuery(ctx context.Context, tx *sql.Tx, q parley.MessageSearch, terms []string, extra string, extraArgs []any,
	afterRid int64, limit int) ([]parley.Message, int64, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT m.rid, ` + messageCols + messageFrom + ` WHERE m.kind = 'user' AND m.deleted = 0` + extra)
	args := append([]any(nil), extraArgs...)
	args = filters(&sb, args, q)
	args = termsScan(&sb, args, terms)
	if afterRid > 0 {
		sb.WriteString(` AND m.rid < ?`)
		args = append(args, afterRid)
	}
	sb.WriteString(` ORDER BY m.rid DESC LIMIT ?`)
	args = append(args, limit)
	return scanSearch(ctx, tx, sb.String(), args)
}

// searchFTS queries the index newest first, before afterRid (if > 0).
func searchFTS(ctx context.Context, tx *sql.Tx, q parley.MessageSearch, long, short []string, afterRid int64,
	limit int) ([]parley.Message, int64, error) {
	var sb strings.Builder
	// CROSS JOIN fixes the join order: the index drives, messages are
	// looked up by rid.
	sb.WriteString(`SELECT m.rid, ` + messageCols + ` FROM messages_fts f CROSS JOIN messages m ON m.rid = f.rowid
		CROSS JOIN conversations c ON c.num = m.conv WHERE messages_fts MATCH ?`)
	args := []any{ftsQuery(long)}
	args = filters(&sb, args, q)
	args = termsScan(&sb, args, short)
	if afterRid > 0 {
		sb.WriteString(` AND f.rowid < ?`)
		args = append(args, afterRid)
	}
	sb.WriteString(` ORDER BY f.rowid DESC LIMIT ?`)
	args = append(args, limit)
	return scanSearch(ctx, tx, sb.String(), args)
}

// scanSearch runs a search query and returns its messages and the rid of
// the last row.
func scanSearch(ctx context.Context, tx *sql.Tx, query string, args []any) ([]parley.Message, int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	ms := []parley.Message{}
	var rid int64
	for rows.Next() {
		m, err := scanMessage(ridScanner{rows, &rid})
		if err != nil {
			return nil, 0, err
		}
		ms = append(ms, m)
	}
	return ms, rid, rows.Err()
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

// ftsQuery is an FTS5 query matching rows that contain every term as a
// substring: each term becomes a quoted string (quotes doubled), which the
// trigram tokenizer turns into a phrase of its trigrams.
func ftsQuery(terms []string) string {
	qs := make([]string, len(terms))
	for i, t := range terms {
		qs[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(qs, " AND ")
}

// escapeLike escapes LIKE's wildcards with backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
