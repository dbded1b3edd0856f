package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/parley-chat/parley"
)

var _ parley.ReceiptStore = (*Store)(nil)

// AdvanceReceipt implements parley.ReceiptStore. The write joins the group
// commit; a request that would change nothing (the common duplicate ack) is
// answered from a read connection without writing.
func (s *Store) AdvanceReceipt(ctx context.Context, conversationID, userID string, delivered, read int64) (parley.Receipt, bool, error) {
	if delivered < read {
		delivered = read
	}
	r := parley.Receipt{ConversationID: conversationID, UserID: userID}
	err := s.rd.receipt.QueryRowContext(ctx, conversationID, userID).Scan(&r.DeliveredSeq, &r.ReadSeq)
	if err == sql.ErrNoRows {
		return r, false, parley.Errorf(parley.CodeNotFound, "not a member")
	}
	if err != nil {
		return r, false, translate(err)
	}
	if delivered <= r.DeliveredSeq && read <= r.ReadSeq {
		return r, false, nil
	}
	changed := false
	err = s.submit(ctx, false, func(w *wtx) error {
		cs, err := w.conv(conversationID)
		if err != nil {
			return err
		}
		d, rd := min(delivered, cs.LastSeq), min(read, cs.LastSeq)
		var oldD, oldR int64
		err = w.tx.QueryRowContext(w.ctx, `SELECT delivered_seq, read_seq FROM members
			WHERE conversation_id = ? AND user_id = ?`, conversationID, userID).Scan(&oldD, &oldR)
		if err == sql.ErrNoRows {
			return parley.Errorf(parley.CodeNotFound, "not a member")
		}
		if err != nil {
			return err
		}
		r.DeliveredSeq, r.ReadSeq = max(oldD, d), max(oldR, rd)
		if r.DeliveredSeq == oldD && r.ReadSeq == oldR {
			return nil
		}
		changed = true
		_, err = w.tx.ExecContext(w.ctx, `UPDATE members SET delivered_seq = ?, read_seq = ?
			WHERE conversation_id = ? AND user_id = ?`, r.DeliveredSeq, r.ReadSeq, conversationID, userID)
		return err
	}, nil)
	if err != nil {
		return parley.Receipt{ConversationID: conversationID, UserID: userID}, false, err
	}
	return r, changed, nil
}

// Receipts implements parley.ReceiptStore.
func (s *Store) Receipts(ctx context.Context, conversationID string) ([]parley.Receipt, error) {
	rows, err := s.rd.receipts.QueryContext(ctx, conversationID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Receipt{}
	for rows.Next() {
		r := parley.Receipt{ConversationID: conversationID}
		if err := rows.Scan(&r.UserID, &r.DeliveredSeq, &r.ReadSeq); err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// ConversationStates implements parley.ReceiptStore.
func (s *Store) ConversationStates(ctx context.Context, userID string) ([]parley.ConversationState, error) {
	rows, err := s.rd.conversationStates.QueryContext(ctx, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.ConversationState{}
	for rows.Next() {
		var st parley.ConversationState
		if err := rows.Scan(&st.ConversationID, &st.LastSeq, &st.DeliveredSeq, &st.ReadSeq); err != nil {
			return nil, translate(err)
		}
		out = append(out, st)
	}
	return out, translate(rows.Err())
}

// SharedUsers implements parley.ReceiptStore.
func (s *Store) SharedUsers(ctx context.Context, userID string, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return []string{}, nil
	}
	args := make([]any, 0, len(candidates)+1)
	args = append(args, userID)
	for _, c := range candidates {
		args = append(args, c)
	}
	q := `SELECT DISTINCT o.user_id FROM members me
		JOIN members o ON o.conversation_id = me.conversation_id
		WHERE me.user_id = ? AND o.user_id IN (?` + strings.Repeat(",?", len(candidates)-1) + `)`
	return s.strings(ctx, q, args...)
}
