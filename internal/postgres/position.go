package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// SavePositions implements parley.PositionStore.
func (s *Store) SavePositions(ctx context.Context, session, userID string, pos map[string]int64, expiresAt time.Time) error {
	exp := expiresAt.UnixMilli()
	return translate(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for conv, seq := range pos {
			if _, err := tx.Exec(ctx, `INSERT INTO session_positions (session, conversation_id, user_id, seq, expires_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session, conversation_id) DO UPDATE
				SET seq = greatest(session_positions.seq, excluded.seq), user_id = excluded.user_id, expires_at = excluded.expires_at`,
				session, conv, userID, seq, exp); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE session_positions SET expires_at = $1 WHERE session = $2`, exp, session)
		return err
	}))
}

// Positions implements parley.PositionStore.
func (s *Store) Positions(ctx context.Context, session, userID string, now time.Time) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, seq FROM session_positions
		WHERE session = $1 AND user_id = $2 AND expires_at > $3`, session, userID, now.UnixMilli())
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
	_, err := s.pool.Exec(ctx, `DELETE FROM session_positions WHERE session = $1`, session)
	return translate(err)
}

// DeleteExpiredPositions implements parley.PositionStore.
func (s *Store) DeleteExpiredPositions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM session_positions WHERE expires_at <= $1`, now.UnixMilli())
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}
