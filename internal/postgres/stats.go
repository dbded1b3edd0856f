package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// AddStats implements parley.StatsStore.
func (s *Store) AddStats(ctx context.Context, deltas []parley.StatsDelta, responses []parley.ResponseDelta) error {
	if len(deltas) == 0 && len(responses) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, d := range deltas {
		b.Queue(`INSERT INTO stats (conversation_id, hour, user_id, messages, reactions, responses, response_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (conversation_id, hour, user_id) DO UPDATE
			SET messages = stats.messages + excluded.messages, reactions = stats.reactions + excluded.reactions,
				responses = stats.responses + excluded.responses, response_ms = stats.response_ms + excluded.response_ms`,
			d.ConversationID, d.Hour, d.UserID, d.Messages, d.Reactions, d.Responses, d.ResponseMillis)
	}
	for _, d := range responses {
		b.Queue(`INSERT INTO stats_responses (conversation_id, hour, bucket, count) VALUES ($1, $2, $3, $4)
			ON CONFLICT (conversation_id, hour, bucket) DO UPDATE SET count = stats_responses.count + excluded.count`,
			d.ConversationID, d.Hour, d.Bucket, d.Count)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
}

// StatsRows implements parley.StatsStore.
func (s *Store) StatsRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]parley.StatsRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT hour, user_id, messages, reactions, responses, response_ms FROM stats
		WHERE conversation_id = $1 AND hour >= $2 AND hour < $3`, conversationID, fromHour, toHour)
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
	rows, err := s.pool.Query(ctx, `SELECT hour, bucket, count FROM stats_responses
		WHERE conversation_id = $1 AND hour >= $2 AND hour < $3`, conversationID, fromHour, toHour)
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
