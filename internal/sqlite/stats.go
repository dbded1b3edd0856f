package sqlite

import (
	"context"
	"database/sql"

	"github.com/parley-chat/parley"
)

// AddStats implements parley.StatsStore.
func (s *Store) AddStats(ctx context.Context, deltas []parley.StatsDelta, responses []parley.ResponseDelta) error {
	if len(deltas) == 0 && len(responses) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if len(deltas) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO stats (conversation_id, hour, user_id, messages, reactions, responses, response_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (conversation_id, hour, user_id) DO UPDATE
				SET messages = messages + excluded.messages, reactions = reactions + excluded.reactions,
					responses = responses + excluded.responses, response_ms = response_ms + excluded.response_ms`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, d := range deltas {
				if _, err := st.ExecContext(ctx, d.ConversationID, d.Hour, d.UserID, d.Messages, d.Reactions, d.Responses, d.ResponseMillis); err != nil {
					return err
				}
			}
		}
		if len(responses) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO stats_responses (conversation_id, hour, bucket, count) VALUES (?, ?, ?, ?)
				ON CONFLICT (conversation_id, hour, bucket) DO UPDATE SET count = count + excluded.count`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, d := range responses {
				if _, err := st.ExecContext(ctx, d.ConversationID, d.Hour, d.Bucket, d.Count); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// StatsRows implements parley.StatsStore.
func (s *Store) StatsRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]parley.StatsRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT hour, user_id, messages, reactions, responses, response_ms FROM stats
		WHERE conversation_id = ? AND hour >= ? AND hour < ?`, conversationID, fromHour, toHour)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.StatsRow{}
	for rows.Next() {
		var r parley.StatsRow
		if err := rows.Scan(&r.Hour, &r.UserID, &r.Messages, &r.Reactions, &r.Responses, &r.ResponseMillis); err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// ResponseRows implements parley.StatsStore.
func (s *Store) ResponseRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]parley.ResponseRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT hour, bucket, count FROM stats_responses
		WHERE conversation_id = ? AND hour >= ? AND hour < ?`, conversationID, fromHour, toHour)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.ResponseRow{}
	for rows.Next() {
		var r parley.ResponseRow
		if err := rows.Scan(&r.Hour, &r.Bucket, &r.Count); err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}
