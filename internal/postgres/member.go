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

func (w *wtx) member(conversationID, userID string) (parley.Member, error) {
	m, err := scanMember(w.tx.QueryRow(w.ctx, `SELECT `+memberCols+` FROM members
		WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return m, err
}

// AddMembers implements parley.ConversationStore (parley.AddMembersTx).
// The conversation row is locked first, so the member limit holds under
// concurrent adds on any node.
func (s *Store) AddMembers(ctx context.Context, conversationID string, members []parley.Member, maxMembers int,
	system parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	return s.membership(ctx, notify, func(w *wtx) (parley.MembershipResult, error) {
		return parley.AddMembersTx(w, conversationID, members, maxMembers, system)
	})
}

// RemoveMember implements parley.ConversationStore (parley.RemoveMemberTx).
func (s *Store) RemoveMember(ctx context.Context, conversationID, userID string, system parley.Message,
	notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	return s.membership(ctx, notify, func(w *wtx) (parley.MembershipResult, error) {
		return parley.RemoveMemberTx(w, conversationID, userID, system)
	})
}

// UpdateMember implements parley.ConversationStore (parley.UpdateMemberTx).
// The conversation row is locked first, so two concurrent demotions cannot
// both pass the last-owner check.
func (s *Store) UpdateMember(ctx context.Context, conversationID, userID string, p parley.MemberPatch,
	system *parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	return s.membership(ctx, notify, func(w *wtx) (parley.MembershipResult, error) {
		return parley.UpdateMemberTx(w, conversationID, userID, p, system)
	})
}

// membership runs a membership rule in a transaction of its own.
func (s *Store) membership(ctx context.Context, notify func(parley.MembershipResult),
	rule func(w *wtx) (parley.MembershipResult, error)) (res parley.MembershipResult, err error) {
	if err = s.do(ctx, func(w *wtx) (err error) { res, err = rule(w); return err }, hook(notify, &res)); err != nil {
		return parley.MembershipResult{}, err
	}
	return res, nil
}

// A transaction is the parley.MemberTx of the membership rules.
var _ parley.MemberTx = (*wtx)(nil)

// LockConversation implements parley.MemberTx (SELECT … FOR UPDATE).
func (w *wtx) LockConversation(id string) error {
	_, err := w.conv(id)
	return err
}

// Member implements parley.MemberTx.
func (w *wtx) Member(conversationID, userID string) (parley.Member, error) {
	return w.member(conversationID, userID)
}

// InsertMembers implements parley.MemberTx.
func (w *wtx) InsertMembers(conversationID string, ms []parley.Member) ([]parley.Member, error) {
	return w.insertMembers(conversationID, ms)
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

// Conversation implements parley.MemberTx.
func (w *wtx) Conversation(id string) (parley.Conversation, error) { return w.conversation(id) }
