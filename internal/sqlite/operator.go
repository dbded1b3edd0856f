package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/parley-chat/parley"
)

const inviteColumns = `id, code, note, created_by, max_uses, uses, expires_at, revoked_at, created_at, org_id`

func scanInvite(row rowScanner) (parley.Invite, error) {
	var (
		inv              parley.Invite
		expires, revoked sql.NullInt64
		created          int64
	)
	if err := row.Scan(&inv.ID, &inv.Code, &inv.Note, &inv.CreatedBy, &inv.MaxUses, &inv.Uses,
		&expires, &revoked, &created, &inv.Org); err != nil {
		return parley.Invite{}, err
	}
	inv.CreatedAt = fromMillis(created)
	inv.ExpiresAt = optTime(expires)
	inv.RevokedAt = optTime(revoked)
	return inv, nil
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}

func optMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

// CreateInvite implements parley.OperatorStore.
func (s *Store) CreateInvite(ctx context.Context, inv parley.Invite) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invites (`+inviteColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.Code, inv.Note, inv.CreatedBy, inv.MaxUses, inv.Uses, optMillis(inv.ExpiresAt),
			optMillis(inv.RevokedAt), millis(inv.CreatedAt), parley.OrgID(inv.Org))
		return err
	})
}

// Invites implements parley.OperatorStore.
func (s *Store) Invites(ctx context.Context, org string) ([]parley.Invite, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+inviteColumns+` FROM invites WHERE ? = '' OR org_id = ?
		ORDER BY created_at DESC, id DESC`, org, org)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Invite{}
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, inv)
	}
	return out, translate(rows.Err())
}

// RevokeInvite implements parley.OperatorStore.
func (s *Store) RevokeInvite(ctx context.Context, id string, at time.Time) (parley.Invite, error) {
	var inv parley.Invite
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
			millis(at), id); err != nil {
			return err
		}
		var err error
		inv, err = scanInvite(tx.QueryRowContext(ctx, `SELECT `+inviteColumns+` FROM invites WHERE id = ?`, id))
		return notFound(err, "invite not found")
	})
	return inv, err
}

// ClaimInvite implements parley.OperatorStore.
func (s *Store) ClaimInvite(ctx context.Context, code string, now time.Time) (parley.Invite, error) {
	var inv parley.Invite
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		inv, err = scanInvite(tx.QueryRowContext(ctx, `SELECT `+inviteColumns+` FROM invites WHERE code = ?`, code))
		if err != nil {
			return notFound(err, "invite not found")
		}
		if err := inv.Usable(now); err != nil {
			return err
		}
		inv.Uses++
		_, err = tx.ExecContext(ctx, `UPDATE invites SET uses = ? WHERE id = ?`, inv.Uses, inv.ID)
		return err
	})
	return inv, err
}

// ReleaseInvite implements parley.OperatorStore.
func (s *Store) ReleaseInvite(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE invites SET uses = uses - 1 WHERE id = ? AND uses > 0`, id))
	})
}

// AppendAudit implements parley.OperatorStore.
func (s *Store) AppendAudit(ctx context.Context, e parley.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_id, actor, action, target_id, target, detail, conversation_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, millis(e.At), e.ActorID, e.Actor, e.Action, e.TargetID, e.Target, e.Detail, e.ConversationID)
		return err
	})
}

// Audit implements parley.OperatorStore.
func (s *Store) Audit(ctx context.Context, q parley.AuditQuery) ([]parley.AuditEntry, error) {
	var args []any
	where := parley.AuditFilter(q, func(v any) string { args = append(args, v); return "?" })
	// #nosec G202 -- AuditFilter concatenates only column names and placeholders; values are bound
	sqlText := `SELECT id, at, actor_id, actor, action, target_id, target, detail, conversation_id FROM audit_log WHERE ` + where +
		` ORDER BY id DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.read.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.AuditEntry{}
	for rows.Next() {
		var e parley.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.TargetID, &e.Target, &e.Detail, &e.ConversationID); err != nil {
			return nil, translate(err)
		}
		e.At = fromMillis(at)
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// ListUsers implements parley.OperatorStore. Tombstones sort after every
// real username ('~' is above [a-z0-9_.-]) and are cut off by username < '~'.
func (s *Store) ListUsers(ctx context.Context, org, prefix, after string, limit int) ([]parley.User, error) {
	if limit <= 0 {
		return []parley.User{}, nil
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE username < '~' AND username >= ? AND username > ?`
	args := []any{prefix, after}
	if org != "" {
		q += ` AND org_id = ?`
		args = append(args, org)
	}
	if upper, ok := prefixSuccessor(prefix); ok {
		q += ` AND username < ?`
		args = append(args, upper)
	}
	q += ` ORDER BY username LIMIT ?`
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

// DeleteUser implements parley.OperatorStore.
func (s *Store) DeleteUser(ctx context.Context, id string, at time.Time) ([]string, error) {
	var ended []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ended = nil
		err := mustAffect(tx.ExecContext(ctx, `UPDATE users SET username = ?, display_name = ?, email = '',
			status_text = '', settings = '{}', role = 'user', disabled = 1, password_hash = '!', updated_at = ?
			WHERE id = ? AND username < '~'`,
			parley.DeletedUsername(id), parley.DeletedDisplayName, millis(at), id))
		if parley.IsCode(err, parley.CodeNotFound) {
			return &parley.Error{Code: parley.CodeNotFound, Message: "user not found"}
		} else if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = ? RETURNING id`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sid string
			if err := rows.Scan(&sid); err != nil {
				rows.Close()
				return err
			}
			ended = append(ended, sid)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM two_factor WHERE user_id = ?`, id); err != nil {
			return err
		}
		if err := clearTwoFactor(ctx, tx, id); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM app_passwords WHERE user_id = ?`, `DELETE FROM api_tokens WHERE user_id = ?`,
			`DELETE FROM incoming_webhooks WHERE bot_id = ?`,
			`DELETE FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM outgoing_webhooks WHERE bot_id = ?)`,
			`DELETE FROM outgoing_webhooks WHERE bot_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		// The avatar and files never sent: the media sweep removes their blobs.
		_, err = tx.ExecContext(ctx, `UPDATE attachments SET deleted_at = ? WHERE owner_id = ? AND deleted_at IS NULL
			AND conversation_id IS NULL`, millis(at), id)
		return err
	})
	return ended, err
}

// Counts implements parley.OperatorStore.
func (s *Store) Counts(ctx context.Context) (parley.ServerCounts, error) {
	var c parley.ServerCounts
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users WHERE username < '~'),
		(SELECT count(*) FROM conversations),
		(SELECT count(*) FROM messages)`).Scan(&c.Users, &c.Conversations, &c.Messages)
	return c, translate(err)
}
