package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const inviteCols = `id, code, note, created_by, max_uses, uses, expires_at, revoked_at, created_at, org_id`

func scanInvite(row pgx.Row) (parley.Invite, error) {
	var (
		inv              parley.Invite
		expires, revoked *int64
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

func optTime(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMillis(*v)
	return &t
}

func optMillis(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := millis(*t)
	return &ms
}

// CreateInvite implements parley.OperatorStore.
func (s *Store) CreateInvite(ctx context.Context, inv parley.Invite) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO invites (`+inviteCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		inv.ID, inv.Code, inv.Note, inv.CreatedBy, inv.MaxUses, inv.Uses, optMillis(inv.ExpiresAt),
		optMillis(inv.RevokedAt), millis(inv.CreatedAt), parley.OrgID(inv.Org))
	return translate(err)
}

// Invites implements parley.OperatorStore.
func (s *Store) Invites(ctx context.Context, org string) ([]parley.Invite, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+inviteCols+` FROM invites WHERE $1 = '' OR org_id = $1
		ORDER BY created_at DESC, id DESC`, org)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Invite, error) { return scanInvite(r) })
	if out == nil {
		out = []parley.Invite{}
	}
	return out, translate(err)
}

// RevokeInvite implements parley.OperatorStore.
func (s *Store) RevokeInvite(ctx context.Context, id string, at time.Time) (parley.Invite, error) {
	inv, err := scanInvite(s.pool.QueryRow(ctx, `UPDATE invites SET revoked_at = coalesce(revoked_at, $2)
		WHERE id = $1 RETURNING `+inviteCols, id, millis(at)))
	return inv, notFound(err, "invite not found")
}

// ClaimInvite implements parley.OperatorStore.
func (s *Store) ClaimInvite(ctx context.Context, code string, now time.Time) (parley.Invite, error) {
	var inv parley.Invite
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		inv, err = scanInvite(tx.QueryRow(ctx, `SELECT `+inviteCols+` FROM invites WHERE code = $1 FOR UPDATE`, code))
		if err != nil {
			return notFound(err, "invite not found")
		}
		if err := inv.Usable(now); err != nil {
			return err
		}
		inv.Uses++
		_, err = tx.Exec(ctx, `UPDATE invites SET uses = $2 WHERE id = $1`, inv.ID, inv.Uses)
		return err
	})
	return inv, err
}

// ReleaseInvite implements parley.OperatorStore.
func (s *Store) ReleaseInvite(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE invites SET uses = uses - 1 WHERE id = $1 AND uses > 0`, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "invite not found")
	}
	return nil
}

// AppendAudit implements parley.OperatorStore.
func (s *Store) AppendAudit(ctx context.Context, e parley.AuditEntry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (id, at, actor_id, actor, action, target_id, target, detail, conversation_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.ID, millis(e.At), e.ActorID, e.Actor, e.Action, e.TargetID, e.Target, e.Detail, e.ConversationID)
	return translate(err)
}

// Audit implements parley.OperatorStore.
func (s *Store) Audit(ctx context.Context, q parley.AuditQuery) ([]parley.AuditEntry, error) {
	var args []any
	where := parley.AuditFilter(q, func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) })
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor_id, actor, action, target_id, target, detail, conversation_id FROM audit_log
		WHERE `+where+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.AuditEntry, error) {
		var e parley.AuditEntry
		var at int64
		err := r.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.TargetID, &e.Target, &e.Detail, &e.ConversationID)
		e.At = fromMillis(at)
		return e, err
	})
	if out == nil {
		out = []parley.AuditEntry{}
	}
	return out, translate(err)
}

// ListUsers implements parley.OperatorStore. Tombstones ('~…') sort after
// every real username and are cut off by username < '~'.
func (s *Store) ListUsers(ctx context.Context, org, prefix, after string, limit int) ([]parley.User, error) {
	if limit <= 0 {
		return []parley.User{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users
		WHERE username < '~' AND username >= $1 AND starts_with(username, $1) AND username > $2
		AND ($4 = '' OR org_id = $4)
		ORDER BY username LIMIT $3`, prefix, after, limit, org)
	if err != nil {
		return nil, translate(err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.User, error) { return scanUser(r) })
	if users == nil {
		users = []parley.User{}
	}
	return users, translate(err)
}

// DeleteUser implements parley.OperatorStore.
func (s *Store) DeleteUser(ctx context.Context, id string, at time.Time) ([]string, error) {
	var ended []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ended = nil
		tag, err := tx.Exec(ctx, `UPDATE users SET username = $2, display_name = $3, email = '', status_text = '',
			settings = '{}', role = 'user', disabled = TRUE, password_hash = '!', updated_at = $4
			WHERE id = $1 AND username < '~'`,
			id, parley.DeletedUsername(id), parley.DeletedDisplayName, millis(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		rows, err := tx.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 RETURNING id`, id)
		if err != nil {
			return err
		}
		if ended, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if err := clearTwoFactor(ctx, tx, id); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM app_passwords WHERE user_id = $1`, `DELETE FROM api_tokens WHERE user_id = $1`,
			`DELETE FROM incoming_webhooks WHERE bot_id = $1`,
			`DELETE FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM outgoing_webhooks WHERE bot_id = $1)`,
			`DELETE FROM outgoing_webhooks WHERE bot_id = $1`} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		// The avatar and files never sent: the media sweep removes their blobs.
		_, err = tx.Exec(ctx, `UPDATE attachments SET deleted_at = $2 WHERE owner_id = $1 AND deleted_at IS NULL
			AND conversation_id IS NULL`, id, millis(at))
		return err
	})
	return ended, err
}

// Counts implements parley.OperatorStore.
func (s *Store) Counts(ctx context.Context) (parley.ServerCounts, error) {
	var c parley.ServerCounts
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users WHERE username < '~'),
		(SELECT count(*) FROM conversations),
		(SELECT count(*) FROM messages)`).Scan(&c.Users, &c.Conversations, &c.Messages)
	return c, translate(err)
}
