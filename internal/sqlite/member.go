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

// AddMembers implements parley.ConversationStore.
func (s *Store) AddMembers(ctx context.Context, conversationID string, members []parley.Member, maxMembers int,
	system parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.submit(ctx, true, func(w *wtx) error {
		if _, err := w.conv(conversationID); err != nil {
			return err
		}
		added, err := w.insertMembers(conversationID, members)
		if err != nil {
			return err
		}
		res.Members = added
		if len(added) > 0 {
			sys := system
			sys.ConversationID = conversationID
			if sys.System != nil {
				info := *sys.System
				info.UserIDs = nil
				for _, m := range added {
					info.UserIDs = append(info.UserIDs, m.UserID)
				}
				sys.System = &info
			}
			if _, err := w.appendMessage(&sys, parley.CheckNone); err != nil {
				return err
			}
			res.System = append(res.System, sys)
			// Joining a conversation that its last member left ownerless.
			if err := w.handOwnership(conversationID, sys, &res); err != nil {
				return err
			}
		}
		res.Conversation, err = w.conversation(conversationID)
		if err != nil {
			return err
		}
		if res.Conversation.MemberCount > maxMembers {
			return parley.TooLarge("user_ids", "a conversation has at most %d members", maxMembers)
		}
		return nil
	}, hook(notify, &res))
	return res, err
}

// RemoveMember implements parley.ConversationStore.
func (s *Store) RemoveMember(ctx context.Context, conversationID, userID string, system parley.Message,
	notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.submit(ctx, true, func(w *wtx) error {
		m, err := w.member(conversationID, userID)
		if err != nil {
			return err
		}
		w.forgetRoles()
		if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM members WHERE conversation_id = ? AND user_id = ?`,
			conversationID, userID); err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE conversations SET member_count = member_count - 1 WHERE id = ?`,
			conversationID); err != nil {
			return err
		}
		res.Members = []parley.Member{m}
		sys := system
		sys.ConversationID = conversationID
		if _, err := w.appendMessage(&sys, parley.CheckNone); err != nil {
			return err
		}
		res.System = append(res.System, sys)
		if m.Role == parley.RoleOwner {
			if err := w.handOwnership(conversationID, sys, &res); err != nil {
				return err
			}
		}
		res.Conversation, err = w.conversation(conversationID)
		return err
	}, hook(notify, &res))
	return res, err
}

// handOwnership applies the last-owner rule after an owner left: if no owner
// remains, the admin who joined first, else the member who joined first,
// becomes owner (ties broken by user id).
func (w *wtx) handOwnership(conversationID string, after parley.Message, res *parley.MembershipResult) error {
	var owners int
	if err := w.tx.QueryRowContext(w.ctx, `SELECT count(*) FROM members WHERE conversation_id = ? AND role = 'owner'`,
		conversationID).Scan(&owners); err != nil {
		return err
	}
	if owners > 0 {
		return nil
	}
	next, err := scanMember(w.tx.QueryRowContext(w.ctx, `SELECT `+memberCols+` FROM members WHERE conversation_id = ?
		ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1`, conversationID))
	if err == sql.ErrNoRows {
		return nil // nobody left
	}
	if err != nil {
		return err
	}
	w.forgetRoles()
	if _, err := w.tx.ExecContext(w.ctx, `UPDATE members SET role = 'owner' WHERE conversation_id = ? AND user_id = ?`,
		conversationID, next.UserID); err != nil {
		return err
	}
	next.Role = parley.RoleOwner
	res.NewOwner = &next
	sys := parley.Message{ID: parley.NewID(), ConversationID: conversationID, SenderID: next.UserID,
		Kind: parley.MessageSystem, CreatedAt: after.CreatedAt,
		System: &parley.SystemInfo{Action: parley.SystemOwnerChanged, UserIDs: []string{next.UserID}, Role: parley.RoleOwner}}
	if _, err := w.appendMessage(&sys, parley.CheckNone); err != nil {
		return err
	}
	res.System = append(res.System, sys)
	return nil
}

// UpdateMember implements parley.ConversationStore.
func (s *Store) UpdateMember(ctx context.Context, conversationID, userID string, p parley.MemberPatch,
	system *parley.Message, notify func(parley.MembershipResult)) (parley.MembershipResult, error) {
	var res parley.MembershipResult
	err := s.submit(ctx, true, func(w *wtx) error {
		m, err := w.member(conversationID, userID)
		if err != nil {
			return err
		}
		if p.Demotes(m) {
			var owners int
			if err := w.tx.QueryRowContext(w.ctx, `SELECT count(*) FROM members WHERE conversation_id = ? AND role = 'owner'`,
				conversationID).Scan(&owners); err != nil {
				return err
			}
			if owners <= 1 {
				return parley.ErrLastOwner()
			}
		}
		m = p.Apply(m)
		w.forgetRoles()
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE members SET role = ?, muted = ?, pinned = ?, archived = ?
			WHERE conversation_id = ? AND user_id = ?`, m.Role, m.Muted, m.Pinned, m.Archived, conversationID, userID); err != nil {
			return err
		}
		res.Members = []parley.Member{m}
		if system != nil {
			sys := *system
			sys.ConversationID = conversationID
			if _, err := w.appendMessage(&sys, parley.CheckNone); err != nil {
				return err
			}
			res.System = append(res.System, sys)
			// Joining a conversation that its last member left ownerless.
			if err := w.handOwnership(conversationID, sys, &res); err != nil {
				return err
			}
		}
		res.Conversation, err = w.conversation(conversationID)
		return err
	}, hook(notify, &res))
	return res, err
}
