package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

const conversationCols = `c.id, c.kind, c.title, c.topic, c.avatar_url, c.public, c.broadcast, coalesce(c.direct_key, ''),
	c.created_by, c.created_at, c.updated_at, h.last_seq, h.last_at, c.member_count, c.org_id, c.encrypted`

// conversationFrom is the FROM clause conversationCols read from.
const conversationFrom = ` FROM conversations c JOIN conversation_heads h ON h.num = c.num`

func scanConversation(r interface{ Scan(...any) error }, extra ...any) (parley.Conversation, error) {
	var c parley.Conversation
	var created, updated, last int64
	dest := append([]any{&c.ID, &c.Kind, &c.Title, &c.Topic, &c.AvatarURL, &c.Public, &c.Broadcast, &c.DirectKey,
		&c.CreatedBy, &created, &updated, &c.LastSeq, &last, &c.MemberCount, &c.Org, &c.Encrypted}, extra...)
	if err := r.Scan(dest...); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt, c.LastAt = fromMillis(created), fromMillis(updated), fromMillis(last)
	return c, nil
}

// CreateConversation implements parley.ConversationStore.
func (s *Store) CreateConversation(ctx context.Context, c parley.Conversation, members []parley.Member,
	system []parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.submit(ctx, true, func(w *wtx) error {
		var direct any
		if c.DirectKey != "" {
			direct = c.DirectKey
		}
		if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO conversations (id, kind, title, title_lower, topic,
			avatar_url, public, broadcast, direct_key, created_by, created_at, updated_at,
			member_count, org_id, encrypted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)`,
			c.ID, c.Kind, c.Title, strings.ToLower(c.Title), c.Topic, c.AvatarURL, c.Public, c.Broadcast, direct,
			c.CreatedBy, millis(c.CreatedAt), millis(c.UpdatedAt), parley.OrgID(c.Org), c.Encrypted); err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO conversation_heads (num, last_seq, last_at)
			VALUES (`+convNum+`, 0, ?)`, c.ID, millis(c.CreatedAt)); err != nil {
			return err
		}
		added, err := w.InsertMembers(c.ID, members)
		if err != nil {
			return err
		}
		res.Members = added
		for _, m := range system {
			m.ConversationID = c.ID
			if _, err := w.appendMessage(&m, parley.CheckNone); err != nil {
				return err
			}
			res.System = append(res.System, m)
		}
		res.Conversation, err = w.Conversation(c.ID)
		return err
	}, hook(notify, &res))
	return res, err
}

func hook(notify func(parley.MembershipResult), res *parley.MembershipResult) func() {
	if notify == nil {
		return nil
	}
	return func() { notify(*res) }
}

// InsertMembers implements parley.MemberTx: it inserts the members not yet
// present and returns them.
func (w *wtx) InsertMembers(conversationID string, members []parley.Member) ([]parley.Member, error) {
	w.forgetRoles()
	var added []parley.Member
	for _, m := range members {
		m.ConversationID = conversationID
		res, err := w.tx.ExecContext(w.ctx, `INSERT INTO members (conversation_id, user_id, role, joined_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, conversationID, m.UserID, m.Role, millis(m.JoinedAt))
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			m.JoinedAt = fromMillis(millis(m.JoinedAt))
			m.DeliveredSeq, m.ReadSeq, m.Muted, m.Pinned, m.Archived = 0, 0, false, false, false
			added = append(added, m)
		}
	}
	if len(added) > 0 {
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE conversations SET member_count = member_count + ? WHERE id = ?`,
			len(added), conversationID); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// Conversation implements parley.MemberTx: it reads a conversation inside the batch, with the batch's
// not-yet-written last_seq applied.
func (w *wtx) Conversation(id string) (parley.Conversation, error) {
	c, err := scanConversation(w.tx.QueryRowContext(w.ctx, `SELECT `+conversationCols+conversationFrom+` WHERE c.id = ?`, id))
	if err == sql.ErrNoRows {
		return c, parley.Errorf(parley.CodeNotFound, "conversation not found")
	}
	if err != nil {
		return c, err
	}
	if cs, ok := w.convs[id]; ok && cs.dirty {
		c.LastSeq = cs.LastSeq
		if at := fromMillis(cs.LastAt); at.After(c.LastAt) {
			c.LastAt = at
		}
	}
	return c, nil
}

// Member implements parley.MemberTx.
func (w *wtx) Member(conversationID, userID string) (parley.Member, error) {
	m, err := scanMember(w.tx.QueryRowContext(w.ctx, `SELECT `+memberCols+` FROM members
		WHERE conversation_id = ? AND user_id = ?`, conversationID, userID))
	if err == sql.ErrNoRows {
		return m, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return m, err
}

// Conversation implements parley.ConversationStore.
func (s *Store) Conversation(ctx context.Context, id string) (parley.Conversation, error) {
	c, err := scanConversation(s.rd.conversation.QueryRowContext(ctx, id))
	return c, translate(err)
}

// ConversationByDirectKey implements parley.ConversationStore.
func (s *Store) ConversationByDirectKey(ctx context.Context, key string) (parley.Conversation, error) {
	c, err := scanConversation(s.read.QueryRowContext(ctx, `SELECT `+conversationCols+conversationFrom+`
		WHERE c.direct_key = ?`, key))
	return c, translate(err)
}

// UpdateConversation implements parley.ConversationStore.
func (s *Store) UpdateConversation(ctx context.Context, id string, p parley.ConversationPatch, at time.Time,
	system *parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.submit(ctx, true, func(w *wtx) error {
		c, err := w.Conversation(id)
		if err != nil {
			return err
		}
		if p.Title != nil {
			c.Title = *p.Title
		}
		if p.Topic != nil {
			c.Topic = *p.Topic
		}
		if p.AvatarURL != nil {
			c.AvatarURL = *p.AvatarURL
		}
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE conversations SET title = ?, title_lower = ?, topic = ?,
			avatar_url = ?, updated_at = ? WHERE id = ?`, c.Title, strings.ToLower(c.Title), c.Topic, c.AvatarURL,
			millis(at), id); err != nil {
			return err
		}
		if system != nil {
			m := *system
			m.ConversationID = id
			if _, err := w.appendMessage(&m, parley.CheckNone); err != nil {
				return err
			}
			res.System = append(res.System, m)
		}
		res.Conversation, err = w.Conversation(id)
		return err
	}, hook(notify, &res))
	return res, err
}

// ListConversations implements parley.ConversationStore. Three queries
// whatever the page size: the page with unread counts, the entries' newest
// messages, and those messages' reactions.
func (s *Store) ListConversations(ctx context.Context, userID string, after parley.ConversationCursor,
	limit int) ([]parley.ConversationEntry, error) {
	if after.ID == "" {
		return s.entries(ctx, s.rd.entriesFirst, userID, limit)
	}
	at := millis(after.LastAt)
	return s.entries(ctx, s.rd.entriesAfter, userID, at, at, after.ID, limit)
}

// ConversationEntry implements parley.ConversationStore.
func (s *Store) ConversationEntry(ctx context.Context, userID, conversationID string) (parley.ConversationEntry, error) {
	es, err := s.entries(ctx, s.rd.entry, userID, conversationID)
	if err != nil {
		return parley.ConversationEntry{}, err
	}
	if len(es) == 0 {
		return parley.ConversationEntry{}, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return es[0], nil
}

// entries reads conversation entries with st, one of the prepared
// entriesQuery statements (args[0] is the user id, then the tail's arguments).
func (s *Store) entries(ctx context.Context, st *sql.Stmt, args ...any) ([]parley.ConversationEntry, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.ConversationEntry{}
	for rows.Next() {
		var e parley.ConversationEntry
		var mv memberVals
		c, err := scanConversation(rows, append(mv.dest(&e.Self), &e.Unread)...)
		if err != nil {
			return nil, translate(err)
		}
		mv.fill(&e.Self)
		e.Conversation = c
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	rows.Close()
	return out, s.loadLastMessages(ctx, out)
}

// loadLastMessages fills in the entries' newest messages (with their
// reactions) in two queries.
func (s *Store) loadLastMessages(ctx context.Context, es []parley.ConversationEntry) error {
	idx := make(map[string]int, len(es))
	var args []any
	for i := range es {
		if es[i].LastSeq > 0 {
			idx[es[i].ID] = i
			args = append(args, es[i].ID)
		}
	}
	if len(args) == 0 {
		return nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")
	// #nosec G202 -- only placeholders are concatenated; values are bound
	rows, err := s.read.QueryContext(ctx, `SELECT `+messageCols+messageFrom+`
		WHERE c.id IN (`+marks+`) AND m.seq = (SELECT last_seq FROM conversation_heads WHERE num = c.num)`, args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	var keys []any
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return translate(err)
		}
		i, ok := idx[m.ConversationID]
		if !ok {
			continue
		}
		es[i].LastMessage = &m
		if !m.Deleted {
			keys = append(keys, m.ConversationID, m.Seq)
		}
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	rows.Close()
	if len(keys) == 0 {
		return nil
	}
	pairs := strings.TrimSuffix(strings.Repeat("(?,?),", len(keys)/2), ",")
	// #nosec G202 -- only placeholders are concatenated; values are bound
	rrows, err := s.read.QueryContext(ctx, `SELECT conversation_id, emoji, user_id FROM reactions
		WHERE (conversation_id, seq) IN (VALUES `+pairs+`) ORDER BY conversation_id, seq, created_at, emoji, user_id`, keys...)
	if err != nil {
		return translate(err)
	}
	defer rrows.Close()
	for rrows.Next() {
		var conv, emoji, user string
		if err := rrows.Scan(&conv, &emoji, &user); err != nil {
			return translate(err)
		}
		if i, ok := idx[conv]; ok && es[i].LastMessage != nil {
			m := es[i].LastMessage
			m.Reactions = parley.AddReaction(m.Reactions, emoji, user)
		}
	}
	return translate(rrows.Err())
}

// ConversationIDs implements parley.ConversationStore.
func (s *Store) ConversationIDs(ctx context.Context, userID string) ([]string, error) {
	return s.stmtStrings(ctx, s.rd.conversationIDs, userID)
}

func (s *Store) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	return scanStrings(rows, err)
}

// stmtStrings runs the prepared read st and returns its one string column.
func (s *Store) stmtStrings(ctx context.Context, st *sql.Stmt, args ...any) ([]string, error) {
	rows, err := st.QueryContext(ctx, args...)
	return scanStrings(rows, err)
}

func scanStrings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

// PublicChannels implements parley.ConversationStore.
func (s *Store) PublicChannels(ctx context.Context, org, query, afterTitle, afterID string, limit int) ([]parley.Conversation, error) {
	q := `SELECT ` + conversationCols + conversationFrom + ` WHERE c.public = 1 AND c.org_id = ?`
	args := []any{parley.OrgID(org)}
	if query != "" {
		q += ` AND instr(c.title_lower, ?) > 0`
		args = append(args, strings.ToLower(query))
	}
	if afterID != "" {
		q += ` AND (c.title_lower > ? OR (c.title_lower = ? AND c.id > ?))`
		t := strings.ToLower(afterTitle)
		args = append(args, t, t, afterID)
	}
	q += ` ORDER BY c.title_lower, c.id LIMIT ?`
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}
