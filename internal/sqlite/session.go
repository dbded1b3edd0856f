package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

const sessionColumns = `id, user_id, token_hash, user_agent, address, created_at, last_seen_at, expires_at`

func scanSession(row rowScanner) (parley.Session, error) {
	var (
		ss                     parley.Session
		created, seen, expires int64
	)
	if err := row.Scan(&ss.ID, &ss.UserID, &ss.TokenHash, &ss.UserAgent, &ss.Address, &created, &seen, &expires); err != nil {
		return parley.Session{}, err
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
	return ss, nil
}

// scanSessionUser scans sessionColumns followed by userColumns: scanSession's
// Scan runs scanUser's, which scans the whole row, so each keeps its own
// decoding.
func scanSessionUser(row rowScanner) (ss parley.Session, u parley.User, err error) {
	ss, err = scanSession(scanFunc(func(sd ...any) error {
		var uerr error
		u, uerr = scanUser(scanFunc(func(ud ...any) error { return row.Scan(append(sd, ud...)...) }))
		return uerr
	}))
	return ss, u, err
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// qualify prefixes every column of a comma-separated list with table alias t.
func qualify(t, cols string) string {
	return t + "." + strings.ReplaceAll(cols, ", ", ", "+t+".")
}

// CreateSession implements parley.SessionStore.
func (s *Store) CreateSession(ctx context.Context, ss parley.Session) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ss.ID, ss.UserID, ss.TokenHash, ss.UserAgent, ss.Address,
			millis(ss.CreatedAt), millis(ss.LastSeenAt), millis(ss.ExpiresAt))
		return err
	})
}

// SessionByTokenHash implements parley.SessionStore.
func (s *Store) SessionByTokenHash(ctx context.Context, h []byte) (parley.Session, error) {
	ss, err := scanSession(s.rd.session.QueryRowContext(ctx, h))
	if err != nil {
		return parley.Session{}, notFound(err, "session not found")
	}
	return ss, nil
}

// SessionUserByTokenHash implements parley.SessionStore.
func (s *Store) SessionUserByTokenHash(ctx context.Context, h []byte) (parley.Session, parley.User, error) {
	ss, u, err := scanSessionUser(s.rd.sessionUser.QueryRowContext(ctx, h))
	if err != nil {
		return parley.Session{}, parley.User{}, notFound(err, "session not found")
	}
	return ss, u, nil
}

// Sessions implements parley.SessionStore.
func (s *Store) Sessions(ctx context.Context, userID string) ([]parley.Session, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ?
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, ss)
	}
	return out, translate(rows.Err())
}

// TouchSessions implements parley.SessionStore.
func (s *Store) TouchSessions(ctx context.Context, touches []parley.SessionTouch) error {
	if len(touches) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, t := range touches {
			if _, err := st.ExecContext(ctx, millis(t.LastSeen), millis(t.Expires), t.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteSession implements parley.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "session not found")
		}
		return err
	})
}

// DeleteUserSessions implements parley.SessionStore.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]string, error) {
	ids := []string{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING id`, userID, keepID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteExpiredSessions implements parley.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, millis(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
