package sqlite

import (
	"context"
	"database/sql"

	"github.com/parley-chat/parley"
)

const memberCols = `conversation_id, user_id, role, joined_at, delivered_seq, read_seq, muted, pinned, archived`

func memberColsOf(alias string) string {
	return alias + ".conversation_id, " + alias + ".user_id, " + alias + ".role, " + alias + ".joined_at, " +
		alias + ".delivered_seq, " + alias + ".read_seq, " + alias + ".muted, " + alias + ".pinned, " + alias + ".archived"
}

type memberVals struct{ joined int64 }

func (v *memberVals) dest(m *parley.Member) []any {
	return []any{&m.ConversationID, &m.UserID, &m.Role, &v.joined, &m.DeliveredSeq, &m.ReadSeq, &m.Muted, &m.Pinned, &m.Archived}
}

func (v *memberVals) fill(m *parley.Member) { m.JoinedAt = fromMillis(v.joined) }

func scanMember(r interface{ Scan(...any) error }) (parley.Member, error) {
	var m parley.Member
	var v memberVals
	if err := r.Scan(v.dest(&m)...); err != nil {
		return m, err
	}
	v.fill(&m)
	return m, nil
}

// Member implements parley.ConversationStore.
func (s *Store) Member(ctx context.Context, conversationID, userID string) (parley.Member, error) {
	m, err := scanMember(s.rd.member.QueryRowContext(ctx, conversationID, userID))
	if err == sql.ErrNoRows {
		return m, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return m, translate(err)
}

// Members implements parley.ConversationStore.
func (s *Store) Members(ctx context.Context, conversationID, after string, limit int) ([]parley.Member, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+memberCols+` FROM members
		WHERE conversation_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`, conversationID, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, m)
	}
	return out, translate(rows.Err())
}

// MemberIDs implements parley.ConversationStore.
func (s *Store) MemberIDs(ctx context.Context, conversationID string) ([]string, error) {
	return s.stmtStrings(ctx, s.rd.memberIDs, conversationID)
}

// runMembership runs a membership rule as one op of a batch (with a savepoint); it is the
// Store's parley.MemberWrites (AddMembers, RemoveMember, UpdateMember).
func (s *Store) runMembership(ctx context.Context, rule func(parley.MemberTx) (parley.MembershipResult, error),
	notify func(parley.MembershipResult)) (res parley.MembershipResult, err error) {
	err = s.submit(ctx, true, func(w *wtx) (err error) { res, err = rule(w); return err }, hook(notify, &res))
	return res, err
}

// DeleteMember implements parley.MemberTx.
func (w *wtx) DeleteMember(conversationID, userID string) error {
	w.forgetRoles()
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM members WHERE conversation_id = ? AND user_id = ?`,
		conversationID, userID); err != nil {
		return err
	}
	_, err := w.tx.ExecContext(w.ctx, `UPDATE conversations SET member_count = member_count - 1 WHERE id = ?`,
		conversationID)
	return err
}

// SetMember implements parley.MemberTx.
func (w *wtx) SetMember(m parley.Member) error {
	w.forgetRoles()
	_, err := w.tx.ExecContext(w.ctx, `UPDATE members SET role = ?, muted = ?, pinned = ?, archived = ?
		WHERE conversation_id = ? AND user_id = ?`, m.Role, m.Muted, m.Pinned, m.Archived, m.ConversationID, m.UserID)
	return err
}

// Owners implements parley.MemberTx.
func (w *wtx) Owners(conversationID string) (int, error) {
	var n int
	err := w.tx.QueryRowContext(w.ctx, `SELECT count(*) FROM members WHERE conversation_id = ? AND role = 'owner'`,
		conversationID).Scan(&n)
	return n, err
}

// Successor implements parley.MemberTx.
func (w *wtx) Successor(conversationID string) (parley.Member, bool, error) {
	m, err := scanMember(w.tx.QueryRowContext(w.ctx, `SELECT `+memberCols+` FROM members WHERE conversation_id = ?
		ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1`, conversationID))
	if err == sql.ErrNoRows {
		return m, false, nil
	}
	return m, err == nil, err
}

// AppendSystem implements parley.MemberTx.
func (w *wtx) AppendSystem(m *parley.Message) error {
	_, err := w.appendMessage(m, parley.CheckNone)
	return err
}
