package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const conversationCols = `c.id, c.kind, c.title, c.topic, c.avatar_url, c.public, c.broadcast, coalesce(c.direct_key, ''),
	c.created_by, c.created_at, c.updated_at, c.last_seq, c.last_at, c.member_count, c.org_id, c.encrypted`

type conversationVals struct {
	kind                   string
	created, updated, last int64
}

func (v *conversationVals) dest(c *parley.Conversation) []any {
	return []any{&c.ID, &v.kind, &c.Title, &c.Topic, &c.AvatarURL, &c.Public, &c.Broadcast, &c.DirectKey,
		&c.CreatedBy, &v.created, &v.updated, &c.LastSeq, &v.last, &c.MemberCount, &c.Org, &c.Encrypted}
}

func (v *conversationVals) fill(c *parley.Conversation) {
	c.Kind = parley.ConversationKind(v.kind)
	c.CreatedAt, c.UpdatedAt, c.LastAt = fromMillis(v.created), fromMillis(v.updated), fromMillis(v.last)
}

func scanConversation(r pgx.Row) (parley.Conversation, error) {
	var c parley.Conversation
	var v conversationVals
	if err := r.Scan(v.dest(&c)...); err != nil {
		return parley.Conversation{}, err
	}
	v.fill(&c)
	return c, nil
}

func hook(notify func(parley.MembershipResult), res *parley.MembershipResult) func() {
	if notify == nil {
		return nil
	}
	return func() { notify(*res) }
}

// CreateConversation implements parley.ConversationStore.
func (s *Store) CreateConversation(ctx context.Context, c parley.Conversation, members []parley.Member,
	system []parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.do(ctx, func(w *wtx) error {
		res = parley.MembershipResult{}
		var direct *string
		if c.DirectKey != "" {
			direct = &c.DirectKey
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO conversations (id, kind, title, title_lower, topic, avatar_url,
			public, broadcast, direct_key, created_by, created_at, updated_at, last_seq, last_at, member_count, org_id,
			encrypted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $11, 0, $13, $14)`,
			c.ID, string(c.Kind), c.Title, strings.ToLower(c.Title), c.Topic, c.AvatarURL, c.Public, c.Broadcast, direct,
			c.CreatedBy, millis(c.CreatedAt), millis(c.UpdatedAt), parley.OrgID(c.Org), c.Encrypted); err != nil {
			return err
		}
		added, err := w.InsertMembers(c.ID, members)
		if err != nil {
			return err
		}
		res.Members = added
		for _, m := range system {
			m.ConversationID = c.ID
			if err := w.AppendSystem(&m); err != nil {
				return err
			}
			res.System = append(res.System, m)
		}
		res.Conversation, err = w.Conversation(c.ID)
		return err
	}, hook(notify, &res))
	if err != nil {
		return parley.MembershipResult{}, err
	}
	return res, nil
}

// InsertMembers implements parley.MemberTx: it inserts the members not yet
// present and returns them.
func (w *wtx) InsertMembers(conversationID string, members []parley.Member) ([]parley.Member, error) {
	var added []parley.Member
	for _, m := range members {
		m.ConversationID = conversationID
		tag, err := w.tx.Exec(w.ctx, `INSERT INTO members (conversation_id, user_id, role, joined_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, conversationID, m.UserID, string(m.Role), millis(m.JoinedAt))
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			m.JoinedAt = fromMillis(millis(m.JoinedAt))
			m.DeliveredSeq, m.ReadSeq, m.Muted, m.Pinned, m.Archived = 0, 0, false, false, false
			added = append(added, m)
		}
	}
	if len(added) > 0 {
		if _, err := w.tx.Exec(w.ctx, `UPDATE conversations SET member_count = member_count + $2 WHERE id = $1`,
			conversationID, len(added)); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// Conversation implements parley.MemberTx: it reads a conversation inside the transaction, with the
// not-yet-written last_seq applied.
func (w *wtx) Conversation(id string) (parley.Conversation, error) {
	c, err := scanConversation(w.tx.QueryRow(w.ctx, `SELECT `+conversationCols+` FROM conversations c WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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

// Conversation implements parley.ConversationStore.
func (s *Store) Conversation(ctx context.Context, id string) (parley.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, `SELECT `+conversationCols+` FROM conversations c WHERE id = $1`, id))
	return c, notFound(err, "conversation not found")
}

// ConversationByDirectKey implements parley.ConversationStore.
func (s *Store) ConversationByDirectKey(ctx context.Context, key string) (parley.Conversation, error) {
	c, err := scanConversation(s.pool.QueryRow(ctx, `SELECT `+conversationCols+` FROM conversations c
		WHERE direct_key = $1`, key))
	return c, notFound(err, "conversation not found")
}

// UpdateConversation implements parley.ConversationStore.
func (s *Store) UpdateConversation(ctx context.Context, id string, p parley.ConversationPatch, at time.Time,
	system *parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.do(ctx, func(w *wtx) error {
		res = parley.MembershipResult{}
		if _, err := w.conv(id); err != nil { // lock first: system messages take seqs
			return err
		}
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
		if _, err := w.tx.Exec(w.ctx, `UPDATE conversations SET title = $2, title_lower = $3, topic = $4,
			avatar_url = $5, updated_at = $6 WHERE id = $1`, id, c.Title, strings.ToLower(c.Title), c.Topic, c.AvatarURL,
			millis(at)); err != nil {
			return err
		}
		if system != nil {
			m := *system
			m.ConversationID = id
			if err := w.AppendSystem(&m); err != nil {
				return err
			}
			res.System = append(res.System, m)
		}
		res.Conversation, err = w.Conversation(id)
		return err
	}, hook(notify, &res))
	if err != nil {
		return parley.MembershipResult{}, err
	}
	return res, nil
}

// ListConversations implements parley.ConversationStore. One query reads
// the page with each entry's newest message and unread count; a second
// reads the reactions of those newest messages.
func (s *Store) ListConversations(ctx context.Context, userID string, after parley.ConversationCursor,
	limit int) ([]parley.ConversationEntry, error) {
	tail := ``
	args := []any{userID}
	if after.ID != "" {
		tail = ` AND (c.last_at < $2 OR (c.last_at = $2 AND c.id < $3))`
		args = append(args, millis(after.LastAt), after.ID)
	}
	tail += ` ORDER BY c.last_at DESC, c.id DESC LIMIT ` + placeholder(len(args)+1)
	args = append(args, limit)
	return s.entries(ctx, tail, args)
}

// ConversationEntry implements parley.ConversationStore.
func (s *Store) ConversationEntry(ctx context.Context, userID, conversationID string) (parley.ConversationEntry, error) {
	es, err := s.entries(ctx, ` AND c.id = $2`, []any{userID, conversationID})
	if err != nil {
		return parley.ConversationEntry{}, err
	}
	if len(es) == 0 {
		return parley.ConversationEntry{}, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return es[0], nil
}

// entries reads userID's conversation entries; tail continues the WHERE
// clause ($1 is userID).
func (s *Store) entries(ctx context.Context, tail string, args []any) ([]parley.ConversationEntry, error) {
	q := `SELECT ` + conversationCols + `, ` + memberColsOf("m") + `,
		(SELECT count(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > m.read_seq
			AND x.sender_id <> m.user_id AND NOT x.deleted AND x.kind = 'user'),
		` + messageColsOf("lm") + `
		FROM members m JOIN conversations c ON c.id = m.conversation_id
		LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq AND c.last_seq > 0
		WHERE m.user_id = $1` + tail
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	out := []parley.ConversationEntry{}
	for rows.Next() {
		var e parley.ConversationEntry
		var cv conversationVals
		var mv memberVals
		var lm lastMessage
		dest := append(append(append(cv.dest(&e.Conversation), mv.dest(&e.Self)...), &e.Unread), lm.dest()...)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, translate(err)
		}
		cv.fill(&e.Conversation)
		mv.fill(&e.Self)
		if e.LastMessage, err = lm.message(); err != nil {
			rows.Close()
			return nil, translate(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	if err := s.loadLastReactions(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// lastMessage scans the nullable columns of a LEFT JOINed message.
type lastMessage struct {
	conv, id, sender, client, kind, body, mentions, system *string
	attached, e2ee                                         *string
	seq, reply, created, edited                            *int64
	deleted                                                *bool
}

func (l *lastMessage) dest() []any {
	return []any{&l.conv, &l.seq, &l.id, &l.sender, &l.client, &l.kind, &l.body, &l.reply, &l.mentions, &l.system,
		&l.created, &l.edited, &l.deleted, &l.attached, &l.e2ee}
}

func (l *lastMessage) message() (*parley.Message, error) {
	if l.id == nil {
		return nil, nil
	}
	m := &parley.Message{ConversationID: *l.conv, Seq: *l.seq, ID: *l.id, SenderID: *l.sender, ClientMsgID: *l.client,
		Body: *l.body, ReplyTo: *l.reply, Deleted: *l.deleted}
	v := messageVals{mentions: *l.mentions, system: *l.system, kind: *l.kind, created: *l.created, edited: l.edited,
		attached: *l.attached, e2ee: *l.e2ee}
	if err := v.fill(m); err != nil {
		return nil, err
	}
	return m, nil
}

// loadLastReactions fills in the reactions of the entries' newest messages.
func (s *Store) loadLastReactions(ctx context.Context, es []parley.ConversationEntry) error {
	var convs []string
	var seqs []int64
	idx := make(map[string]*parley.Message)
	for i := range es {
		if m := es[i].LastMessage; m != nil && !m.Deleted {
			convs, seqs = append(convs, m.ConversationID), append(seqs, m.Seq)
			idx[m.ConversationID] = m
		}
	}
	if len(convs) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT r.conversation_id, r.emoji, r.user_id FROM unnest($1::text[], $2::bigint[]) AS k(c, s)
		CROSS JOIN LATERAL (SELECT x.conversation_id, x.emoji, x.user_id, x.created_at FROM reactions x
			WHERE x.conversation_id = k.c AND x.seq = k.s OFFSET 0) r
		ORDER BY r.conversation_id, r.created_at, r.emoji, r.user_id`, convs, seqs)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var conv, emoji, user string
		if err := rows.Scan(&conv, &emoji, &user); err != nil {
			return translate(err)
		}
		if m := idx[conv]; m != nil {
			m.Reactions = parley.AddReaction(m.Reactions, emoji, user)
		}
	}
	return translate(rows.Err())
}

func placeholder(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return "$" + digits[n:n+1]
	}
	return "$" + digits[n/10:n/10+1] + digits[n%10:n%10+1]
}

// ConversationIDs implements parley.ConversationStore.
func (s *Store) ConversationIDs(ctx context.Context, userID string) ([]string, error) {
	return s.strings(ctx, `SELECT conversation_id FROM members WHERE user_id = $1 ORDER BY conversation_id`, userID)
}

func (s *Store) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// PublicChannels implements parley.ConversationStore.
func (s *Store) PublicChannels(ctx context.Context, org, query, afterTitle, afterID string, limit int) ([]parley.Conversation, error) {
	q := `SELECT ` + conversationCols + ` FROM conversations c WHERE c.public AND c.org_id = $1`
	args := []any{parley.OrgID(org)}
	if query != "" {
		args = append(args, strings.ToLower(query))
		q += ` AND strpos(c.title_lower, ` + placeholder(len(args)) + `) > 0`
	}
	if afterID != "" {
		args = append(args, strings.ToLower(afterTitle), afterID)
		t, id := placeholder(len(args)-1), placeholder(len(args))
		q += ` AND (c.title_lower > ` + t + ` OR (c.title_lower = ` + t + ` AND c.id > ` + id + `))`
	}
	args = append(args, limit)
	q += ` ORDER BY c.title_lower, c.id LIMIT ` + placeholder(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Conversation, error) { return scanConversation(r) })
	if err != nil {
		return nil, translate(err)
	}
	if out == nil {
		out = []parley.Conversation{}
	}
	return out, nil
}
