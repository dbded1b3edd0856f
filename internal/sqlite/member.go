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

// AddMembers implements parley.ConversationStore (parley.AddMembersTx).
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
func (s *Store) UpdateMember(ctx context.Context, conversationID, userID string, p parley.MemberPatch,
	system *parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	return s.membership(ctx, notify, func(w *wtx) (parley.MembershipResult, error) {
		return parley.UpdateMemberTx(w, conversationID, userID, p, system)
	})
}

// membership runs a membership rule as one op of a batch (with a savepoint).
func (s *Store) membership(ctx context.Context, notify func(parley.MembershipResult),
	rule func(w *wtx) (parley.MembershipResult, error)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.submit(ctx, true, func(w *wtx) (err error) {
		res, err = rule(w)
		return err
	}, hook(notify, &res))
	if err != nil {
		return parley.MembershipResult{}, err
	}
	return res, nil
}

// The batch transaction is the parley.MemberTx of the membership rules.
var _ parley.MemberTx = (*wtx)(nil)

// LockConversation implements parley.MemberTx: the committer is the only
// writer, so loading the head is enough.
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

// Conversation implements parley.MemberTx.
func (w *wtx) Conversation(id string) (parley.Conversation, error) { return w.conversation(id) }
