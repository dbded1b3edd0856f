package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Blocks and conversation moderation; the same SQL as
// internal/postgres/moderation.go (other placeholders).

// BlockUser implements parley.BlockStore.
func (s *Store) BlockUser(ctx context.Context, blockerID, blockedID string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id IN (?, ?)`, blockerID, blockedID); err != nil {
			return err
		} else if n != 2 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, blockerID, blockedID, millis(at))
		return err
	})
}

// UnblockUser implements parley.BlockStore.
func (s *Store) UnblockUser(ctx context.Context, blockerID, blockedID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?`, blockerID, blockedID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "you do not block this user"))
		}
		return nil
	})
}

// Blocks implements parley.BlockStore.
func (s *Store) Blocks(ctx context.Context, blockerID string) ([]parley.Block, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT blocked_id, created_at FROM blocks WHERE blocker_id = ?
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

// BlockPeers implements parley.BlockStore.
func (s *Store) BlockPeers(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT blocked_id FROM blocks WHERE blocker_id = ?
		UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?`, userID, userID)
	return scanStrings(rows, err)
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
	err := s.read.QueryRowContext(ctx, `SELECT rules FROM conversation_rules WHERE conversation_id = ?`, conversationID).Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO conversation_rules (conversation_id, rules) VALUES (?, ?)
			ON CONFLICT (conversation_id) DO UPDATE SET rules = excluded.rules`, conversationID, string(raw))
		return err
	})
}

// SetMutedUntil implements parley.ModerationStore.
func (s *Store) SetMutedUntil(ctx context.Context, conversationID, userID string, until time.Time) error {
	var ms int64
	if !until.IsZero() {
		ms = millis(until)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO member_moderation (conversation_id, user_id, muted_until) VALUES (?, ?, ?)
			ON CONFLICT (conversation_id, user_id) DO UPDATE SET muted_until = excluded.muted_until`, conversationID, userID, ms)
		return err
	})
}

// TouchPost implements parley.ModerationStore.
func (s *Store) TouchPost(ctx context.Context, conversationID, userID string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO member_moderation (conversation_id, user_id, last_post_at) VALUES (?, ?, ?)
			ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_post_at = max(last_post_at, excluded.last_post_at)`,
			conversationID, userID, millis(at))
		return err
	})
}

// PostingState implements parley.ModerationStore.
func (s *Store) PostingState(ctx context.Context, conversationID, userID string) (parley.PostingState, error) {
	var st parley.PostingState
	var direct sql.NullString
	var raw string
	var muted, last int64
	err := s.rd.postingState.QueryRowContext(ctx, userID, userID, conversationID).Scan(&st.Kind, &st.Encrypted, &st.Role, &direct, &raw, &muted, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return st, parley.ErrConversationNotFound()
	}
	if err != nil {
		return st, translate(err)
	}
	if st.Rules, err = decodeRules(raw); err != nil {
		return st, err
	}
	if muted > 0 {
		st.MutedUntil = fromMillis(muted)
	}
	if last > 0 {
		st.LastPostAt = fromMillis(last)
	}
	if peer := parley.DirectPeer(direct.String, userID); peer != "" {
		var n int
		if err := s.rd.blockedPair.QueryRowContext(ctx,
			userID, peer, peer, userID).Scan(&n); err != nil {
			return st, translate(err)
		}
		st.Blocked = n > 0
	}
	return st, nil
}

// BanUser implements parley.ModerationStore.
func (s *Store) BanUser(ctx context.Context, b parley.Ban) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bans (conversation_id, user_id, actor_id, reason, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, user_id) DO UPDATE
			SET actor_id = excluded.actor_id, reason = excluded.reason, created_at = excluded.created_at`,
			b.ConversationID, b.UserID, b.ActorID, b.Reason, millis(b.CreatedAt))
		return err
	})
}

// UnbanUser implements parley.ModerationStore.
func (s *Store) UnbanUser(ctx context.Context, conversationID, userID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bans WHERE conversation_id = ? AND user_id = ?`, conversationID, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "this user is not banned"))
		}
		return nil
	})
}

// Bans implements parley.ModerationStore.
func (s *Store) Bans(ctx context.Context, conversationID string) ([]parley.Ban, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT conversation_id, user_id, actor_id, reason, created_at FROM bans
		WHERE conversation_id = ? ORDER BY created_at, user_id`, conversationID)
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
	args := []any{conversationID}
	for _, id := range userIDs {
		args = append(args, id)
	}
	// #nosec G202 -- only placeholders are concatenated; values are bound
	rows, err := s.read.QueryContext(ctx, `SELECT user_id FROM bans WHERE conversation_id = ? AND user_id IN (?`+
		strings.Repeat(", ?", len(userIDs)-1)+`) ORDER BY user_id`, args...)
	return scanStrings(rows, err)
}
