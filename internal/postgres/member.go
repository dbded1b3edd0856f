package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const memberCols = `conversation_id, user_id, role, joined_at, delivered_seq, read_seq, muted, pinned, archived`

func memberColsOf(alias string) string {
	return alias + ".conversation_id, " + alias + ".user_id, " + alias + ".role, " + alias + ".joined_at, " +
		alias + ".delivered_seq, " + alias + ".read_seq, " + alias + ".muted, " + alias + ".pinned, " + alias + ".archived"
}

type memberVals struct {
	role   string
	joined int64
}

func (v *memberVals) dest(m *parley.Member) []any {
	return []any{&m.ConversationID, &m.UserID, &v.role, &v.joined, &m.DeliveredSeq, &m.ReadSeq, &m.Muted, &m.Pinned, &m.Archived}
}

func (v *memberVals) fill(m *parley.Member) {
	m.Role = parley.MemberRole(v.role)
	m.JoinedAt = fromMillis(v.joined)
}

func scanMember(r pgx.Row) (parley.Member, error) {
	var m parley.Member
	var v memberVals
	if err := r.Scan(v.dest(&m)...); err != nil {
		return parley.Member{}, err
	}
	v.fill(&m)
	return m, nil
}

// Member implements parley.ConversationStore.
func (s *Store) Member(ctx context.Context, conversationID, userID string) (parley.Member, error) {
	m, err := scanMember(s.pool.QueryRow(ctx, `SELECT `+memberCols+` FROM members
		WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID))
	return m, notFound(err, "not a member")
}

// Members implements parley.ConversationStore.
func (s *Store) Members(ctx context.Context, conversationID, after string, limit int) ([]parley.Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+memberCols+` FROM members
		WHERE conversation_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, conversationID, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Member, error) { return scanMember(r) })
	if err != nil {
		return nil, translate(err)
	}
	if out == nil {
		out = []parley.Member{}
	}
	return out, nil
}

// MemberIDs implements parley.ConversationStore.
func (s *Store) MemberIDs(ctx context.Context, conversationID string) ([]string, error) {
	return s.strings(ctx, `SELECT user_id FROM members WHERE conversation_id = $1 ORDER BY user_id`, conversationID)
}

// Member implements parley.MemberTx.
func (w *wtx) Member(conversationID, userID string) (parley.Member, error) {
	m, err := scanMember(w.tx.QueryRow(w.ctx, `SELECT `+memberCols+` FROM members
		WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return m, err
}

// runMembership runs a membership rule in a transaction of its own; it is the
// Store's parley.MemberWrites (AddMembers, RemoveMember, UpdateMember).
func (s *Store) runMembership(ctx context.Context, rule func(parley.MemberTx) (parley.MembershipResult, error),
	notify func(parley.MembershipResult)) (res parley.MembershipResult, err error) {
	err = s.do(ctx, func(w *wtx) (err error) { res, err = rule(w); return err }, hook(notify, &res))
	return res, err
}

// DeleteMember implements parley.MemberTx.
func (w *wtx) DeleteMember(conversationID, userID string) error {
	_, err := w.tx.Exec(w.ctx, `WITH d AS (DELETE FROM members WHERE conversation_id = $1 AND user_id = $2 RETURNING 1)
		UPDATE conversations SET member_count = member_count - (SELECT count(*) FROM d) WHERE id = $1`,
		conversationID, userID)
	return err
}

// SetMember implements parley.MemberTx.
func (w *wtx) SetMember(m parley.Member) error {
	_, err := w.tx.Exec(w.ctx, `UPDATE members SET role = $3, muted = $4, pinned = $5, archived = $6
		WHERE conversation_id = $1 AND user_id = $2`, m.ConversationID, m.UserID, string(m.Role), m.Muted, m.Pinned,
		m.Archived)
	return err
}

// Owners implements parley.MemberTx.
func (w *wtx) Owners(conversationID string) (n int, err error) {
	err = w.tx.QueryRow(w.ctx, `SELECT count(*) FROM members WHERE conversation_id = $1 AND role = 'owner'`,
		conversationID).Scan(&n)
	return n, err
}

// Successor implements parley.MemberTx.
func (w *wtx) Successor(conversationID string) (parley.Member, bool, error) {
	m, err := scanMember(w.tx.QueryRow(w.ctx, `SELECT `+memberCols+` FROM members WHERE conversation_id = $1
		ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1`, conversationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false, nil
	}
	return m, err == nil, err
}
