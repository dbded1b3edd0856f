package postgres

import (
	"context"

	"github.com/parley-chat/parley"
)

// Missed implements parley.MessageStore: one statement over the ranges as
// three arrays, the membership check inside it and a per-row reaction
// probe, then the reactions of the ranges that have any (a range's rows
// are adjacent: ORDER BY its ordinal, then seq).
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
	rows, err := s.pool.Query(ctx, `SELECT j.ord, EXISTS (SELECT 1 FROM reactions r
			WHERE r.conversation_id = m.conversation_id AND r.seq = m.seq), `+messageColsOf("m")+`
		FROM unnest($2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS j(conv, lo, hi, ord)
		JOIN messages m ON m.conversation_id = j.conv AND m.seq > j.lo AND m.seq <= j.hi
		WHERE EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = j.conv AND mb.user_id = $1)
		ORDER BY j.ord, m.seq`, member, convs, lo, hi)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	ms := []parley.Message{}
	var ords []int64
	var reacted []bool
	for rows.Next() {
		var m parley.Message
		var v messageVals
		var ord int64
		var r bool
		if err := rows.Scan(append([]any{&ord, &r}, v.dest(&m)...)...); err != nil {
			return nil, translate(err)
		}
		if err := v.fill(&m); err != nil {
			return nil, translate(err)
		}
		ms, ords, reacted = append(ms, m), append(ords, ord), append(reacted, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	for a := 0; a < len(ms); {
		b, has := a, false
		for ; b < len(ms) && ords[b] == ords[a]; b++ {
			has = has || reacted[b]
		}
		if has {
			if err := s.loadReactions(ctx, ms[a:b]); err != nil {
				return nil, err
			}
		}
		a = b
	}
	return ms, nil
}
