package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
)

// SearchMessages implements parley.SearchStore. Terms are matched with
// ILIKE, served by the trigram GIN index messages_body_trgm (migration 0020)
// for terms of three or more characters. Recent order is created_at, then
// conversation id, then seq, all descending; relevance is ts_rank over the
// 'simple' text search configuration, then recent order. Cursors:
// "r<created_at>:<conversation_id>:<seq>" of the last row (recent),
// "o<offset>" (relevance).
func (s *Store) SearchMessages(ctx context.Context, q parley.MessageSearch) ([]parley.Message, string, error) {
	relevance := q.Order == parley.SearchRelevance && len(q.Terms) > 0
	var (
		curAt, curSeq, offset int64
		curConv               string
	)
	if q.Cursor != "" {
		ok := false
		switch {
		case !relevance && strings.HasPrefix(q.Cursor, "r"):
			parts := strings.Split(q.Cursor[1:], ":")
			if len(parts) == 3 && parley.ValidID(parts[1]) {
				var err1, err2 error
				curAt, err1 = strconv.ParseInt(parts[0], 10, 64)
				curSeq, err2 = strconv.ParseInt(parts[2], 10, 64)
				curConv = parts[1]
				ok = err1 == nil && err2 == nil && curSeq > 0
			}
		case relevance && strings.HasPrefix(q.Cursor, "o"):
			var err error
			offset, err = strconv.ParseInt(q.Cursor[1:], 10, 64)
			ok = err == nil && offset > 0
		}
		if !ok {
			return nil, "", parley.Invalid("cursor", "cursor is not one this server handed out")
		}
	}
	var sb strings.Builder
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	sb.WriteString(`SELECT ` + messageColsOf("m") + ` FROM messages m
		WHERE m.kind = 'user' AND NOT m.deleted AND m.body <> ''`)
	if q.ConversationID != "" {
		c := arg(q.ConversationID)
		sb.WriteString(` AND m.conversation_id = ` + c + ` AND EXISTS (SELECT 1 FROM members mb
			WHERE mb.conversation_id = ` + c + ` AND mb.user_id = ` + arg(q.UserID) + `)`)
	} else {
		sb.WriteString(` AND m.conversation_id IN (SELECT mb.conversation_id FROM members mb
			WHERE mb.user_id = ` + arg(q.UserID) + `)`)
	}
	for _, t := range q.Terms {
		sb.WriteString(` AND m.body ILIKE ` + arg("%"+escapeLike(t)+"%"))
	}
	if q.SenderID != "" {
		sb.WriteString(` AND m.sender_id = ` + arg(q.SenderID))
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
		sb.WriteString(` AND m.created_at >= ` + arg(millis(q.Since)))
	}
	if !q.Until.IsZero() {
		sb.WriteString(` AND m.created_at < ` + arg(millis(q.Until)))
	}
	if q.MentionsUserID != "" {
		sb.WriteString(` AND ' ' || m.mentions || ' ' LIKE ` + arg("% "+q.MentionsUserID+" %"))
	}
	const recent = `m.created_at DESC, m.conversation_id DESC, m.seq DESC`
	if relevance {
		sb.WriteString(` ORDER BY ts_rank(to_tsvector('simple', m.body), plainto_tsquery('simple', ` +
			arg(strings.Join(q.Terms, " ")) + `)) DESC, ` + recent + ` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(offset))
	} else {
		if q.Cursor != "" {
			sb.WriteString(` AND (m.created_at, m.conversation_id, m.seq) < (` + arg(curAt) + `, ` + arg(curConv) +
				`::text COLLATE "C", ` + arg(curSeq) + `)`)
		}
		sb.WriteString(` ORDER BY ` + recent + ` LIMIT ` + arg(q.Limit))
	}
	rows, err := s.pool.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, "", translate(err)
	}
	ms := []parley.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, "", translate(err)
		}
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", translate(err)
	}
	if err := parley.ForEachConversation(ms, func(sub []parley.Message) error { return s.loadReactions(ctx, sub) }); err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) == q.Limit && q.Limit > 0 {
		if relevance {
			next = "o" + strconv.FormatInt(offset+int64(len(ms)), 10)
		} else {
			last := ms[len(ms)-1]
			next = "r" + strconv.FormatInt(millis(last.CreatedAt), 10) + ":" + last.ConversationID + ":" +
				strconv.FormatInt(last.Seq, 10)
		}
	}
	return ms, next, nil
}

// escapeLike escapes LIKE's wildcards with backslash (the default escape).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
