package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Blocks and conversation moderation; the same SQL as
// internal/sqlite/moderation.go.

// BlockUser implements parley.BlockStore.
func (s *Store) BlockUser(ctx context.Context, blockerID, blockedID string, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id IN ($1, $2)`, blockerID, blockedID); err != nil {
			return err
		} else if n != 2 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		_, err := tx.Exec(ctx, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, blockerID, blockedID, millis(at))
		return err
	})
}

// UnblockUser implements parley.BlockStore.
func (s *Store) UnblockUser(ctx context.Context, blockerID, blockedID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, blockerID, blockedID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "you do not block this user")
	}
	return nil
}

// Blocks implements parley.BlockStore.
func (s *Store) Blocks(ctx context.Context, blockerID string) ([]parley.Block, error) {
	rows, err := s.pool.Query(ctx, `SELECT blocked_id, created_at FROM blocks WHERE blocker_id = $1
		ORDER BY created_at, blocked_id`, blockerID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Block{}
	for rows.Next() {
		var b parley.Block
		var at int64
		if err := rows.Scan(&b.UserID, &at); err != nil {
			return nil, translate(err)
		}
		b.CreatedAt = fromMillis(at)
		out = append(out, b)
	}
	return out, translate(rows.Err())
}

func (s *Store) queryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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

// BlockPeers implements parley.BlockStore.
func (s *Store) BlockPeers(ctx context.Context, userID string) ([]string, error) {
	return s.queryStrings(ctx, `SELECT blocked_id FROM blocks WHERE blocker_id = $1
		UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1`, userID)
}

func decodeRules(s string) (parley.ConversationRules, error) {
	var r parley.ConversationRules
	if s != "" {
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return r, parley.Internal(err)
		}
	}
	return r.Normalize(), nil
}

// ConversationRules implements parley.ModerationStore.
func (s *Store) ConversationRules(ctx context.Context, conversationID string) (parley.ConversationRules, error) {
	var raw string
	err := s.pool.QueryRow(ctx, `SELECT rules FROM conversation_rules WHERE conversation_id = $1`, conversationID).Scan(&raw)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return parley.ConversationRules{}, translate(err)
	}
	return decodeRules(raw)
}

// SetConversationRules implements parley.ModerationStore.
func (s *Store) SetConversationRules(ctx context.Context, conversationID string, r parley.ConversationRules) error {
	raw, err := json.Marshal(r.Normalize())
	if err != nil {
		return parley.Internal(err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO conversation_rules (conversation_id, rules) VALUES ($1, $2)
		ON CONFLICT (conversation_id) DO UPDATE SET rules = excluded.rules`, conversationID, string(raw))
	return translate(err)
}

// SetMutedUntil implements parley.ModerationStore.
func (s *Store) SetMutedUntil(ctx context.Context, conversationID, userID string, until time.Time) error {
	var ms int64
	if !until.IsZero() {
		ms = millis(until)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO member_moderation (conversation_id, user_id, muted_until) VALUES ($1, $2, $3)
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET muted_until = excluded.muted_until`, conversationID, userID, ms)
	return translate(err)
}

// TouchPost implements parley.ModerationStore.
func (s *Store) TouchPost(ctx context.Context, conversationID, userID string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO member_moderation (conversation_id, user_id, last_post_at) VALUES ($1, $2, $3)
		ON CONFLICT (conversation_id, user_id) DO UPDATE
		SET last_post_at = greatest(member_moderation.last_post_at, excluded.last_post_at)`,
		conversationID, userID, millis(at))
	return translate(err)
}

// PostingState implements parley.ModerationStore.
func (s *Store) PostingState(ctx context.Context, conversationID, userID string) (parley.PostingState, error) {
	var st parley.PostingState
	var kind, role string
	var direct *string
	var raw string
	var muted, last int64
	err := s.pool.QueryRow(ctx, `SELECT c.kind, c.encrypted, coalesce(m.role, ''), c.direct_key, coalesce(r.rules, ''),
			coalesce(mm.muted_until, 0), coalesce(mm.last_post_at, 0)
		FROM conversations c
		LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $1
		LEFT JOIN conversation_rules r ON r.conversation_id = c.id
		LEFT JOIN member_moderation mm ON mm.conversation_id = c.id AND mm.user_id = $1
		WHERE c.id = $2`, userID, conversationID).Scan(&kind, &st.Encrypted, &role, &direct, &raw, &muted, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, parley.ErrConversationNotFound()
	}
	if err != nil {
		return st, translate(err)
	}
	st.Kind, st.Role = parley.ConversationKind(kind), parley.MemberRole(role)
	if st.Rules, err = decodeRules(raw); err != nil {
		return st, err
	}
	if muted > 0 {
		st.MutedUntil = fromMillis(muted)
	}
	if last > 0 {
		st.LastPostAt = fromMillis(last)
	}
	if direct != nil {
		if peer := parley.DirectPeer(*direct, userID); peer != "" {
			var n int
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM blocks
				WHERE blocker_id = $1 AND blocked_id = $2 OR blocker_id = $2 AND blocked_id = $1`,
				userID, peer).Scan(&n); err != nil {
				return st, translate(err)
			}
			st.Blocked = n > 0
		}
	}
	return st, nil
}

// BanUser implements parley.ModerationStore.
func (s *Store) BanUser(ctx context.Context, b parley.Ban) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO bans (conversation_id, user_id, actor_id, reason, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id, user_id) DO UPDATE
		SET actor_id = excluded.actor_id, reason = excluded.reason, created_at = excluded.created_at`,
		b.ConversationID, b.UserID, b.ActorID, b.Reason, millis(b.CreatedAt))
	return translate(err)
}

// UnbanUser implements parley.ModerationStore.
func (s *Store) UnbanUser(ctx context.Context, conversationID, userID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM bans WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "this user is not banned")
	}
	return nil
}

// Bans implements parley.ModerationStore.
func (s *Store) Bans(ctx context.Context, conversationID string) ([]parley.Ban, error) {
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, user_id, actor_id, reason, created_at FROM bans
		WHERE conversation_id = $1 ORDER BY created_at, user_id`, conversationID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Ban{}
	for rows.Next() {
		var b parley.Ban
		var at int64
		if err := rows.Scan(&b.ConversationID, &b.UserID, &b.ActorID, &b.Reason, &at); err != nil {
			return nil, translate(err)
		}
		b.CreatedAt = fromMillis(at)
		out = append(out, b)
	}
	return out, translate(rows.Err())
}

// Banned implements parley.ModerationStore.
func (s *Store) Banned(ctx context.Context, conversationID string, userIDs []string) ([]string, error) {
	if len(userIDs) == 0 {
		return []string{}, nil
	}
	return s.queryStrings(ctx, `SELECT user_id FROM bans WHERE conversation_id = $1 AND user_id = ANY($2)
		ORDER BY user_id`, conversationID, userIDs)
}
