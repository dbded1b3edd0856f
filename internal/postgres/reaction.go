package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parley-chat/parley"
)

// loadReactions fills in the reactions of ms, which all belong to one
// conversation, with one query.
func (s *Store) loadReactions(ctx context.Context, ms []parley.Message) error {
	if len(ms) == 0 {
		return nil
	}
	lo, hi := ms[0].Seq, ms[0].Seq
	idx := make(map[int64]int, len(ms))
	for i, m := range ms {
		lo, hi = min(lo, m.Seq), max(hi, m.Seq)
		idx[m.Seq] = i
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, emoji, user_id FROM reactions
		WHERE conversation_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, created_at, emoji, user_id`,
		ms[0].ConversationID, lo, hi)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var emoji, user string
		if err := rows.Scan(&seq, &emoji, &user); err != nil {
			return translate(err)
		}
		if i, ok := idx[seq]; ok {
			ms[i].Reactions = parley.AddReaction(ms[i].Reactions, emoji, user)
		}
	}
	return translate(rows.Err())
}

func (w *wtx) reactions(conversationID string, seq int64) ([]parley.Reaction, error) {
	rows, err := w.tx.Query(w.ctx, `SELECT emoji, user_id FROM reactions
		WHERE conversation_id = $1 AND seq = $2 ORDER BY created_at, emoji, user_id`, conversationID, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rs := []parley.Reaction{}
	for rows.Next() {
		var emoji, user string
		if err := rows.Scan(&emoji, &user); err != nil {
			return nil, err
		}
		rs = parley.AddReaction(rs, emoji, user)
	}
	return rs, rows.Err()
}

// React implements parley.MessageStore. The message row is locked for the
// transaction, so concurrent reactions to one message (from any node)
// apply one after the other and the emoji limit holds.
func (s *Store) React(ctx context.Context, conversationID string, seq int64, userID, emoji string, add bool,
	maxEmoji int, at time.Time, notify func([]parley.Reaction)) ([]parley.Reaction, error) {
	var rs []parley.Reaction
	changed := false
	err := s.doMessage(ctx, conversationID, func(w *wtx) error {
		changed = false
		m, err := w.message(conversationID, seq)
		if err != nil {
			return err
		}
		if err := parley.LiveMessage(m); err != nil {
			return err
		}
		var tag pgconn.CommandTag
		if add {
			var present, distinct int
			if err := w.tx.QueryRow(w.ctx, `SELECT count(DISTINCT emoji), count(*) FILTER (WHERE emoji = $3)
				FROM reactions WHERE conversation_id = $1 AND seq = $2`, conversationID, seq, emoji).
				Scan(&distinct, &present); err != nil {
				return err
			}
			if err := parley.AdmitReaction(distinct, present > 0, maxEmoji); err != nil {
				return err
			}
			tag, err = w.tx.Exec(w.ctx, `INSERT INTO reactions (conversation_id, seq, emoji, user_id, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, conversationID, seq, emoji, userID, millis(at))
		} else {
			tag, err = w.tx.Exec(w.ctx, `DELETE FROM reactions WHERE conversation_id = $1 AND seq = $2 AND emoji = $3
				AND user_id = $4`, conversationID, seq, emoji, userID)
		}
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() > 0
		rs, err = w.reactions(conversationID, seq)
		return err
	}, func() {
		if notify != nil && changed {
			notify(rs)
		}
	})
	if err != nil {
		return nil, err
	}
	return rs, nil
}
