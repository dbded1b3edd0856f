package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Call queries; the same SQL as internal/sqlite/call.go.
const (
	callCols = `id, conversation_id, caller_id, callee_id, video, state, end_reason, ended_by,
	created_at, ring_until, answered_at, ended_at, caller_session, callee_session`
	sqlOpenCalls = `SELECT ` + callCols + ` FROM calls WHERE caller_id = $1 AND state <> 'ended'
	UNION ALL SELECT ` + callCols + ` FROM calls WHERE callee_id = $1 AND state <> 'ended'`
)

func scanCall(r pgx.Row) (parley.Call, error) {
	var c parley.Call
	var created, ringUntil int64
	var answered, ended *int64
	err := r.Scan(&c.ID, &c.ConversationID, &c.CallerID, &c.CalleeID, &c.Video, &c.State, &c.End, &c.EndedBy,
		&created, &ringUntil, &answered, &ended, &c.CallerSession, &c.CalleeSession)
	c.CreatedAt, c.RingUntil = fromMillis(created), fromMillis(ringUntil)
	if answered != nil {
		t := fromMillis(*answered)
		c.AnsweredAt = &t
	}
	if ended != nil {
		t := fromMillis(*ended)
		c.EndedAt = &t
	}
	return c, err
}

func nullMillis(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := millis(*t)
	return &ms
}

// CreateCall implements parley.CallStore. Per-user advisory locks, taken
// in id order, make the busy check and the insert atomic across nodes.
func (s *Store) CreateCall(ctx context.Context, c parley.Call, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		a, b := c.CallerID, c.CalleeID
		if a > b {
			a, b = b, a
		}
		for _, id := range []string{a, b} {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('parley.call.' || $1::text))`, id); err != nil {
				return err
			}
		}
		for _, u := range []struct{ id, field string }{{c.CallerID, "caller_id"}, {c.CalleeID, "callee_id"}} {
			rows, err := tx.Query(ctx, sqlOpenCalls, u.id)
			if err != nil {
				return err
			}
			busy := false
			for rows.Next() {
				o, err := scanCall(rows)
				if err != nil {
					rows.Close()
					return err
				}
				busy = busy || o.Live(now)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if busy {
				return busyError(u.field)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO calls (`+callCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			c.ID, c.ConversationID, c.CallerID, c.CalleeID, c.Video, c.State, c.End, c.EndedBy,
			millis(c.CreatedAt), millis(c.RingUntil), nullMillis(c.AnsweredAt), nullMillis(c.EndedAt), c.CallerSession, c.CalleeSession)
		return err
	})
}

func busyError(field string) error {
	if field == "caller_id" {
		return &parley.Error{Code: parley.CodeConflict, Field: field, Message: "you are in another call"}
	}
	return &parley.Error{Code: parley.CodeConflict, Field: field, Message: "busy: the callee is in another call"}
}

// Call implements parley.CallStore.
func (s *Store) Call(ctx context.Context, id string) (parley.Call, error) {
	c, err := scanCall(s.pool.QueryRow(ctx, `SELECT `+callCols+` FROM calls WHERE id = $1`, id))
	return c, notFound(err, "call not found")
}

// UpdateCall implements parley.CallStore.
func (s *Store) UpdateCall(ctx context.Context, c parley.Call, from parley.CallState) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var state parley.CallState
		if err := tx.QueryRow(ctx, `SELECT state FROM calls WHERE id = $1 FOR UPDATE`, c.ID).Scan(&state); err != nil {
			return notFound(err, "call not found")
		}
		if state != from {
			return parley.Errorf(parley.CodeConflict, "the call is %s, not %s", state, from)
		}
		_, err := tx.Exec(ctx, `UPDATE calls SET state = $1, end_reason = $2, ended_by = $3, answered_at = $4,
			ended_at = $5, callee_session = $6 WHERE id = $7`,
			c.State, c.End, c.EndedBy, nullMillis(c.AnsweredAt), nullMillis(c.EndedAt), c.CalleeSession, c.ID)
		return err
	})
}

// RingingCalls implements parley.CallStore.
func (s *Store) RingingCalls(ctx context.Context, now time.Time, limit int) ([]parley.Call, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+callCols+` FROM calls WHERE state = 'ringing' AND ring_until <= $1
		ORDER BY ring_until LIMIT $2`, millis(now), limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []parley.Call
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}
