package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// trigramMin is the shortest term the trigram index can serve; shorter terms
// are matched with LIKE on the rows the other conditions select.
const trigramMin = 3

// SearchMessages implements parley.SearchStore. The index is messages_fts
// (migration 0020), kept by triggers in the writing transaction.
//
// Plans: with a term of three or more characters the FTS5 index drives the
// query (newest first: its rowid, which is messages.rid, in descending
// order; relevance: bm25 rank); without one, messages are scanned newest
// first. The membership condition is applied to every candidate row.
// Cursors: "r<rid>" for SearchRecent (the rid of the last row), "o<offset>"
// for SearchRelevance.
func (s *Store) SearchMessages(ctx context.Context, q parley.MessageSearch) ([]parley.Message, string, error) {
	var long, short []string
	for _, t := range q.Terms {
		if utf8.RuneCountInString(t) >= trigramMin {
			long = append(long, t)
		} else {
			short = append(short, t)
		}
	}
	useFTS := len(long) > 0
	relevance := q.Order == parley.SearchRelevance && useFTS
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
			if offset <= 0 {
				err = errBadCursor
			}
		default:
			err = errBadCursor
		}
		if err != nil {
			return nil, "", parley.Invalid("cursor", "cursor is not one this server handed out")
		}
	}

	var sb strings.Builder
	var args []any
	sb.WriteString(`SELECT m.rid, ` + messageCols)
	if useFTS {
		// CROSS JOIN fixes the join order: the index drives, messages are
		// looked up by rid.
		sb.WriteString(` FROM messages_fts f CROSS JOIN messages m ON m.rid = f.rowid
			CROSS JOIN conversations c ON c.num = m.conv WHERE messages_fts MATCH ?`)
		args = append(args, ftsQuery(long))
	} else {
		sb.WriteString(messageFrom + ` WHERE m.kind = 'user' AND m.deleted = 0`)
	}
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
	for _, t := range short {
		sb.WriteString(` AND m.body LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(t)+"%")
	}
	switch {
	case relevance:
		sb.WriteString(` ORDER BY f.rank, m.rid DESC LIMIT ? OFFSET ?`)
		args = append(args, q.Limit, offset)
	case useFTS:
		if afterRid > 0 {
			sb.WriteString(` AND f.rowid < ?`)
			args = append(args, afterRid)
		}
		sb.WriteString(` ORDER BY f.rowid DESC LIMIT ?`)
		args = append(args, q.Limit)
	default:
		if afterRid > 0 {
			sb.WriteString(` AND m.rid < ?`)
			args = append(args, afterRid)
		}
		sb.WriteString(` ORDER BY m.rid DESC LIMIT ?`)
		args = append(args, q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, "", translate(err)
	}
	defer rows.Close()
	ms := []parley.Message{}
	var rid int64
	for rows.Next() {
		m, err := scanMessage(ridScanner{rows, &rid})
		if err != nil {
			return nil, "", translate(err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(err)
	}
	if err := loadReactionsByConversation(ctx, ms, s.loadReactions); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(ms) == q.Limit && q.Limit > 0 {
		if relevance {
			next = "o" + strconv.FormatInt(offset+int64(len(ms)), 10)
		} else {
			next = "r" + strconv.FormatInt(rid, 10)
		}
	}
	return ms, next, nil
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

// loadReactionsByConversation runs load (which takes messages of one
// conversation) once per conversation of ms.
func loadReactionsByConversation(ctx context.Context, ms []parley.Message,
	load func(context.Context, []parley.Message) error) error {
	groups := map[string][]int{}
	var order []string
	for i, m := range ms {
		if _, ok := groups[m.ConversationID]; !ok {
			order = append(order, m.ConversationID)
		}
		groups[m.ConversationID] = append(groups[m.ConversationID], i)
	}
	for _, id := range order {
		idx := groups[id]
		sub := make([]parley.Message, len(idx))
		for j, i := range idx {
			sub[j] = ms[i]
		}
		if err := load(ctx, sub); err != nil {
			return err
		}
		for j, i := range idx {
			ms[i].Reactions = sub[j].Reactions
		}
	}
	return nil
}
