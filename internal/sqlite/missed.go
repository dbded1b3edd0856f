package sqlite

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"github.com/parley-chat/parley"
)

// missedQuery is Missed's statement. Its one argument is the ranges as a
// JSON array of [conversation id, after, until]; json_each drives the
// join, so each range costs a conversation lookup and one seek on
// messages' primary key, and the membership check is part of the read.
// Columns: the range's index, messageRow, whether the message has a
// reaction. It has no ORDER BY: the nested loop yields the rows by range
// and seq, and a sorter costs more than the rest of the statement but the
// rows; Missed puts them in order if the plan ever does not.
const missedQuery = `SELECT j.key, ` + messageRow + `,
	EXISTS (SELECT 1 FROM reactions r WHERE r.conversation_id = c.id AND r.seq = m.seq)
	FROM json_each(?1) j
	JOIN conversations c ON c.id = j.value ->> 0
	JOIN messages m ON m.conv = c.num AND m.seq > j.value ->> 1 AND m.seq <= j.value ->> 2
	WHERE EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = c.id AND mb.user_id = ?2)`

// Missed implements parley.MessageStore.
func (s *Store) Missed(ctx context.Context, member string, ranges []parley.SeqRange) ([]parley.Message, error) {
	if len(ranges) == 0 {
		return []parley.Message{}, nil
	}
	arg := make([]byte, 0, 48*len(ranges))
	arg = append(arg, '[')
	for i, r := range ranges {
		if i > 0 {
			arg = append(arg, ',')
		}
		arg = append(arg, '[')
		arg = parley.AppendJSONString(arg, r.ConversationID)
		arg = append(arg, ',')
		arg = strconv.AppendInt(arg, r.After, 10)
		arg = append(arg, ',')
		arg = strconv.AppendInt(arg, r.Until, 10)
		arg = append(arg, ']')
	}
	arg = append(arg, ']')
	rows, err := s.rd.missed.QueryContext(ctx, string(arg), member)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var buf [32]missedRow
	got := buf[:0]
	for rows.Next() {
		var r missedRow
		if err := rows.Scan(&r.at, &r.text, &r.reacted); err != nil {
			return nil, translate(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	rows.Close()
	ms := make([]parley.Message, len(got))
	for i, r := range got {
		if r.at < 0 || r.at >= len(ranges) {
			return nil, parley.Errorf(parley.CodeInternal, "missed: a row of range %d of %d", r.at, len(ranges))
		}
		conv := ranges[r.at].ConversationID
		m, ok, err := parseMessageRow(conv, r.text)
		if err != nil {
			return nil, translate(err)
		}
		if !ok {
			if m, err = scanMessage(s.rd.message.QueryRowContext(ctx, conv, m.Seq)); err != nil {
				return nil, translate(err)
			}
		}
		ms[i] = m
	}
	inOrder := func(a, b int) bool { return got[a].at < got[b].at || got[a].at == got[b].at && ms[a].Seq < ms[b].Seq }
	for i := 1; i < len(ms); i++ {
		if !inOrder(i-1, i) {
			sortMissed(got, ms)
			break
		}
	}
	// Reactions, for the ranges that have a reacted message: a range's
	// messages are adjacent in ms.
	for lo := 0; lo < len(ms); {
		hi, reacted := lo, false
		for ; hi < len(ms) && got[hi].at == got[lo].at; hi++ {
			reacted = reacted || got[hi].reacted
		}
		if reacted {
			if err := s.loadReactions(ctx, ms[lo:hi]); err != nil {
				return nil, err
			}
		}
		lo = hi
	}
	return ms, nil
}

// missedRow is a row of missedQuery.
type missedRow struct {
	at      int // index of the range
	text    string
	reacted bool
}

// sortMissed orders rows and ms (parallel) by range, then seq.
func sortMissed(rows []missedRow, ms []parley.Message) {
	idx := make([]int, len(ms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(rows[a].at, rows[b].at); c != 0 {
			return c
		}
		return cmp.Compare(ms[a].Seq, ms[b].Seq)
	})
	rs, sorted := make([]missedRow, len(rows)), make([]parley.Message, len(ms))
	for i, j := range idx {
		rs[i], sorted[i] = rows[j], ms[j]
	}
	copy(rows, rs)
	copy(ms, sorted)
}
