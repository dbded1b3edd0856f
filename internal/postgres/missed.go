package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley"
)

// Missed implements parley.MessageStore: one statement over the ranges as
// three arrays, the membership check inside it, then the reactions of the
// ranges that have any.
func (s *Store) Missed(ctx context.Context, member string, ranges []parley.SeqRange) ([]parley.Message, error) {
	if len(ranges) == 0 {
		return []parley.Message{}, nil
	}
	convs := make([]string, len(ranges))
	lo := make([]int64, len(ranges))
	hi := make([]int64, len(ranges))
	for i, r := range ranges {
		convs[i], lo[i], hi[i] = r.ConversationID, r.After, r.Until
	}
	rows, err := s.pool.Query(ctx, `SELECT `+messageColsOf("m")+`
		FROM unnest($2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS j(conv, lo, hi, ord)
		JOIN messages m ON m.conversation_id = j.conv AND m.seq > j.lo AND m.seq <= j.hi
		WHERE EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = j.conv AND mb.user_id = $1)
		ORDER BY j.ord, m.seq`, member, convs, lo, hi)
	if err != nil {
		return nil, translate(err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, translate(err)
	}
	if ms == nil {
		ms = []parley.Message{}
	}
	// A range's messages are adjacent in ms (ranges name distinct
	// conversations: the caller's contract).
	for a := 0; a < len(ms); {
		b := a
		for b < len(ms) && ms[b].ConversationID == ms[a].ConversationID {
			b++
		}
		if err := s.loadReactions(ctx, ms[a:b]); err != nil {
			return nil, err
		}
		a = b
	}
	return ms, nil
}
