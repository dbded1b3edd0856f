package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

var _ parley.ReceiptStore = (*Store)(nil)

// AdvanceReceipt implements parley.ReceiptStore with one statement (one
// round trip), outside the committer: receipts have no commit hook and no
// seq, and the member row lock taken by the UPDATE orders concurrent
// receipts from any node. Values are clamped to the conversation's
// last_seq and never move back.
func (s *Store) AdvanceReceipt(ctx context.Context, conversationID, userID string, delivered, read int64) (parley.Receipt, bool, error) {
	if delivered < read {
		delivered = read
	}
	r := parley.Receipt{ConversationID: conversationID, UserID: userID}
	var newD, newR *int64
	err := s.pool.QueryRow(ctx, `WITH cur AS (
			SELECT m.delivered_seq AS d, m.read_seq AS r, c.last_seq AS l
			FROM members m JOIN conversations c ON c.id = m.conversation_id
			WHERE m.conversation_id = $1 AND m.user_id = $2 FOR UPDATE OF m
		), upd AS (
			UPDATE members m SET delivered_seq = GREATEST(cur.d, LEAST($3, cur.l)), read_seq = GREATEST(cur.r, LEAST($4, cur.l))
			FROM cur WHERE m.conversation_id = $1 AND m.user_id = $2
				AND (LEAST($3, cur.l) > cur.d OR LEAST($4, cur.l) > cur.r)
			RETURNING m.delivered_seq, m.read_seq
		)
		SELECT cur.d, cur.r, upd.delivered_seq, upd.read_seq FROM cur LEFT JOIN upd ON TRUE`,
		conversationID, userID, delivered, read).Scan(&r.DeliveredSeq, &r.ReadSeq, &newD, &newR)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	if err != nil {
		return parley.Receipt{ConversationID: conversationID, UserID: userID}, false, translate(err)
	}
	if newD == nil {
		return r, false, nil
	}
	r.DeliveredSeq, r.ReadSeq = *newD, *newR
	return r, true, nil
}

// Receipts implements parley.ReceiptStore.
func (s *Store) Receipts(ctx context.Context, conversationID string) ([]parley.Receipt, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, delivered_seq, read_seq FROM members
		WHERE conversation_id = $1 ORDER BY user_id`, conversationID)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (parley.Receipt, error) {
		r := parley.Receipt{ConversationID: conversationID}
		err := row.Scan(&r.UserID, &r.DeliveredSeq, &r.ReadSeq)
		return r, err
	})
	if err != nil {
		return nil, translate(err)
	}
	if out == nil {
		out = []parley.Receipt{}
	}
	return out, nil
}

// ConversationStates implements parley.ReceiptStore.
func (s *Store) ConversationStates(ctx context.Context, userID string) ([]parley.ConversationState, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.conversation_id, c.last_seq, m.delivered_seq, m.read_seq
		FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = $1`, userID)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (parley.ConversationState, error) {
		var st parley.ConversationState
		err := row.Scan(&st.ConversationID, &st.LastSeq, &st.DeliveredSeq, &st.ReadSeq)
		return st, err
	})
	if err != nil {
		return nil, translate(err)
	}
	if out == nil {
		out = []parley.ConversationState{}
	}
	return out, nil
}

// SharedUsers implements parley.ReceiptStore.
func (s *Store) SharedUsers(ctx context.Context, userID string, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return []string{}, nil
	}
	return s.strings(ctx, `SELECT DISTINCT o.user_id FROM members me
		JOIN members o ON o.conversation_id = me.conversation_id
		WHERE me.user_id = $1 AND o.user_id = ANY($2)`, userID, candidates)
}
