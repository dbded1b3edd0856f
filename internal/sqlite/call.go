package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/parley-chat/parley"
)

// Call queries; internal/postgres/call.go has the same SQL.
const (
	callCols = `id, conversation_id, caller_id, callee_id, video, state, end_reason, ended_by,
	created_at, ring_until, answered_at, ended_at, caller_session, callee_session`
	// sqlOpenCalls lists the calls not ended of a user ($1) for the busy check.
	sqlOpenCalls = `SELECT ` + callCols + ` FROM calls WHERE caller_id = ? AND state <> 'ended'
	UNION ALL SELECT ` + callCols + ` FROM calls WHERE callee_id = ? AND state <> 'ended'`
)

func scanCall(r rowScanner) (parley.Call, error) {
	var c parley.Call
	var created, ringUntil int64
	var answered, ended sql.NullInt64
	err := r.Scan(&c.ID, &c.ConversationID, &c.CallerID, &c.CalleeID, &c.Video, &c.State, &c.End, &c.EndedBy,
		&created, &ringUntil, &answered, &ended, &c.CallerSession, &c.CalleeSession)
	c.CreatedAt, c.RingUntil = fromMillis(created), fromMillis(ringUntil)
	if answered.Valid {
		t := fromMillis(answered.Int64)
		c.AnsweredAt = &t
	}
	if ended.Valid {
		t := fromMillis(ended.Int64)
		c.EndedAt = &t
	}
	return c, err
}

func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(*t), Valid: true}
}

// CreateCall implements parley.CallStore. SQLite's single writer makes the
// busy check and the insert atomic.
func (s *Store) CreateCall(ctx context.Context, c parley.Call, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, u := range []struct{ id, field string }{{c.CallerID, "caller_id"}, {c.CalleeID, "callee_id"}} {
			rows, err := tx.QueryContext(ctx, sqlOpenCalls, u.id, u.id)
			if err != nil {
				return err
			}
			busy := false
			for rows.Next() {
				o, err := scanCall(rows)
				if err != nil {
					_ = rows.Close()
					return err
				}
				busy = busy || o.Live(now)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if busy {
				return busyError(u.field)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO calls (`+callCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
	c, err := scanCall(s.read.QueryRowContext(ctx, `SELECT `+callCols+` FROM calls WHERE id = ?`, id))
	return c, notFound(err, "call not found")
}

// UpdateCall implements parley.CallStore.
func (s *Store) UpdateCall(ctx context.Context, c parley.Call, from parley.CallState) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var state parley.CallState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM calls WHERE id = ?`, c.ID).Scan(&state); err != nil {
			return notFound(err, "call not found")
		}
		if state != from {
			return parley.Errorf(parley.CodeConflict, "the call is %s, not %s", state, from)
		}
		_, err := tx.ExecContext(ctx, `UPDATE calls SET state = ?, end_reason = ?, ended_by = ?, answered_at = ?,
			ended_at = ?, callee_session = ? WHERE id = ?`,
			c.State, c.End, c.EndedBy, nullMillis(c.AnsweredAt), nullMillis(c.EndedAt), c.CalleeSession, c.ID)
		return err
	})
}

// RingingCalls implements parley.CallStore.
func (s *Store) RingingCalls(ctx context.Context, now time.Time, limit int) ([]parley.Call, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+callCols+` FROM calls WHERE state = 'ringing' AND ring_until <= ?
		ORDER BY ring_until LIMIT ?`, millis(now), limit)
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
