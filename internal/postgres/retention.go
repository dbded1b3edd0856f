package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Retention implements parley.RetentionStore.
func (s *Store) Retention(ctx context.Context, conversationID string) (parley.RetentionPolicy, error) {
	p := parley.RetentionPolicy{ConversationID: conversationID}
	var updated int64
	err := s.pool.QueryRow(ctx, `SELECT days, legal_hold, updated_at FROM retention_policies WHERE conversation_id = $1`,
		conversationID).Scan(&p.Days, &p.LegalHold, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	} else if err != nil {
		return parley.RetentionPolicy{}, translate(err)
	}
	p.UpdatedAt = fromMillis(updated)
	return p, nil
}

func (s *Store) setRetention(ctx context.Context, conversationID, set string, v any, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM conversations WHERE id = $1`, conversationID).Scan(&one); err != nil {
			return notFound(err, "conversation not found")
		}
		// #nosec G202 -- set is one of two fixed column names
		_, err := tx.Exec(ctx, `INSERT INTO retention_policies (conversation_id, `+set+`, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (conversation_id) DO UPDATE SET `+set+` = excluded.`+set+`, updated_at = excluded.updated_at`,
			conversationID, v, millis(at))
		return err
	})
}

// SetRetentionDays implements parley.RetentionStore.
func (s *Store) SetRetentionDays(ctx context.Context, conversationID string, days int, at time.Time) error {
	return s.setRetention(ctx, conversationID, "days", days, at)
}

// SetLegalHold implements parley.RetentionStore.
func (s *Store) SetLegalHold(ctx context.Context, conversationID string, hold bool, at time.Time) error {
	return s.setRetention(ctx, conversationID, "legal_hold", hold, at)
}

// DueRetention implements parley.RetentionStore.
func (s *Store) DueRetention(ctx context.Context) ([]parley.RetentionPolicy, error) {
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, days, legal_hold, updated_at FROM retention_policies
		WHERE days > 0 AND NOT legal_hold ORDER BY conversation_id`)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, func(r pgx.Row) (parley.RetentionPolicy, error) {
		var p parley.RetentionPolicy
		var updated int64
		err := r.Scan(&p.ConversationID, &p.Days, &p.LegalHold, &updated)
		p.UpdatedAt = fromMillis(updated)
		return p, err
	})
}

// PurgeHistory implements parley.RetentionStore. It locks the policy row
// (FOR SHARE) so a legal hold set meanwhile waits for it, or stops it.
func (s *Store) PurgeHistory(ctx context.Context, conversationID string, before, at time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		var hold bool
		err := tx.QueryRow(ctx, `SELECT legal_hold FROM retention_policies WHERE conversation_id = $1 FOR SHARE`,
			conversationID).Scan(&hold)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if hold {
			return nil
		}
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM conversations WHERE id = $1`, conversationID).Scan(&one); err != nil {
			return notFound(err, "conversation not found")
		}
		var upTo int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = $1 AND created_at < $2`,
			conversationID, millis(before)).Scan(&upTo); err != nil {
			return err
		}
		if upTo == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE attachments SET deleted_at = $3 WHERE conversation_id = $1 AND purpose = 'file'
			AND seq <= $2 AND deleted_at IS NULL`, conversationID, upTo, millis(at)); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM reactions WHERE conversation_id = $1 AND seq <= $2`,
			`DELETE FROM message_versions WHERE conversation_id = $1 AND seq <= $2`,
		} {
			if _, err := tx.Exec(ctx, q, conversationID, upTo); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1 AND seq <= $2`, conversationID, upTo)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return nil
	})
	return int(n), err
}
