package sqlite

import (
	"context"
	"database/sql"

	"github.com/parley-chat/parley"
)

// AddStats implements parley.StatsStore.
func (s *Store) AddStats(ctx context.Context, deltas []parley.StatsDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO stats (conversation_id, hour, user_id, messages, reactions) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (conversation_id, hour, user_id) DO UPDATE
			SET messages = messages + excluded.messages, reactions = reactions + excluded.reactions`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, d := range deltas {
			if _, err := st.ExecContext(ctx, d.ConversationID, d.Hour, d.UserID, d.Messages, d.Reactions); err != nil {
				return err
			}
		}
		return nil
	})
}

// StatsRows implements parley.StatsStore.
func (s *Store) StatsRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]parley.StatsRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT hour, user_id, messages, reactions FROM stats
		WHERE conversation_id = ? AND hour >= ? AND hour < ?`, conversationID, fromHour, toHour)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.StatsRow{}
	for rows.Next() {
		var r parley.StatsRow
		if err := rows.Scan(&r.Hour, &r.UserID, &r.Messages, &r.Reactions); err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}
