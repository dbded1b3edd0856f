package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley"
)

// Retention implements parley.RetentionStore.
func (s *Store) Retention(ctx context.Context, conversationID string) (parley.RetentionPolicy, error) {
	p := parley.RetentionPolicy{ConversationID: conversationID}
	var hold int
	var updated int64
	err := s.read.QueryRowContext(ctx, `SELECT days, legal_hold, updated_at FROM retention_policies WHERE conversation_id = ?`,
		conversationID).Scan(&p.Days, &hold, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	} else if err != nil {
		return parley.RetentionPolicy{}, translate(err)
	}
	p.LegalHold, p.UpdatedAt = hold != 0, fromMillis(updated)
	return p, nil
}

func (s *Store) setRetention(ctx context.Context, conversationID, set string, v any, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = ?`, conversationID).Scan(&one); err != nil {
			return notFound(err, "conversation not found")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO retention_policies (conversation_id, updated_at) VALUES (?, ?)
			ON CONFLICT (conversation_id) DO NOTHING`, conversationID, millis(at))
		if err != nil {
			return err
		}
		// #nosec G202 -- set is one of two fixed column names
		_, err = tx.ExecContext(ctx, `UPDATE retention_policies SET `+set+` = ?, updated_at = ? WHERE conversation_id = ?`,
			v, millis(at), conversationID)
		return err
	})
}

// SetRetentionDays implements parley.RetentionStore.
func (s *Store) SetRetentionDays(ctx context.Context, conversationID string, days int, at time.Time) error {
	return s.setRetention(ctx, conversationID, "days", days, at)
}

// SetLegalHold implements parley.RetentionStore.
func (s *Store) SetLegalHold(ctx context.Context, conversationID string, hold bool, at time.Time) error {
	return s.setRetention(ctx, conversationID, "legal_hold", boolInt(hold), at)
}

// DueRetention implements parley.RetentionStore.
func (s *Store) DueRetention(ctx context.Context) ([]parley.RetentionPolicy, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT conversation_id, days, updated_at FROM retention_policies
		WHERE days > 0 AND legal_hold = 0 ORDER BY conversation_id`)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.RetentionPolicy{}
	for rows.Next() {
		var p parley.RetentionPolicy
		var updated int64
		if err := rows.Scan(&p.ConversationID, &p.Days, &updated); err != nil {
			return nil, translate(err)
		}
		p.UpdatedAt = fromMillis(updated)
		out = append(out, p)
	}
	return out, translate(rows.Err())
}

// PurgeHistory implements parley.RetentionStore. The search index rows go
// with the messages (the messages_fts delete trigger).
func (s *Store) PurgeHistory(ctx context.Context, conversationID string, before, at time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		var hold int
		err := tx.QueryRowContext(ctx, `SELECT legal_hold FROM retention_policies WHERE conversation_id = ?`, conversationID).Scan(&hold)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if hold != 0 {
			return nil
		}
		var num, upTo int64
		if err := tx.QueryRowContext(ctx, `SELECT num FROM conversations WHERE id = ?`, conversationID).Scan(&num); err != nil {
			return notFound(err, "conversation not found")
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM messages WHERE conv = ? AND created_at < ?`,
			num, millis(before)).Scan(&upTo); err != nil {
			return err
		}
		if upTo == 0 {
			return nil
		}
		for _, q := range []string{
			`UPDATE attachments SET deleted_at = ? WHERE conversation_id = ? AND purpose = 'file' AND seq <= ? AND deleted_at IS NULL`,
		} {
			if _, err := tx.ExecContext(ctx, q, millis(at), conversationID, upTo); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM reactions WHERE conversation_id = ? AND seq <= ?`,
			`DELETE FROM message_versions WHERE conversation_id = ? AND seq <= ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, conversationID, upTo); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conv = ? AND seq <= ?`, num, upTo)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
