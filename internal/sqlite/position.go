package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// SavePositions implements parley.PositionStore.
func (s *Store) SavePositions(ctx context.Context, session, userID string, pos map[string]int64, expiresAt time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for conv, seq := range pos {
			if _, err := tx.ExecContext(ctx, `INSERT INTO session_positions (session, conversation_id, user_id, seq, expires_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (session, conversation_id) DO UPDATE
				SET seq = max(seq, excluded.seq), user_id = excluded.user_id, expires_at = excluded.expires_at`,
				session, conv, userID, seq, millis(expiresAt)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE session_positions SET expires_at = ? WHERE session = ?`, millis(expiresAt), session)
		return err
	})
}

// Positions implements parley.PositionStore.
func (s *Store) Positions(ctx context.Context, session, userID string, now time.Time) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT conversation_id, seq FROM session_positions
		WHERE session = ? AND user_id = ? AND expires_at > ?`, session, userID, millis(now))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var conv string
		var seq int64
		if err := rows.Scan(&conv, &seq); err != nil {
			return nil, translate(err)
		}
		out[conv] = seq
	}
	return out, translate(rows.Err())
}

// DeletePositions implements parley.PositionStore.
func (s *Store) DeletePositions(ctx context.Context, session string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM session_positions WHERE session = ?`, session)
		return err
	})
}

// DeleteExpiredPositions implements parley.PositionStore.
func (s *Store) DeleteExpiredPositions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM session_positions WHERE expires_at <= ?`, millis(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
