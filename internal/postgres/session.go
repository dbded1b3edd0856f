package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const sessionCols = `id, user_id, token_hash, user_agent, address, created_at, last_seen_at, expires_at`

func scanSession(row pgx.Row) (parley.Session, error) {
	var s parley.Session
	var created, seen, expires int64
	if err := row.Scan(&s.ID, &s.UserID, &s.TokenHash, &s.UserAgent, &s.Address, &created, &seen, &expires); err != nil {
		return parley.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
	return s, nil
}

// CreateSession inserts sess. CodeConflict if the id or token hash is
// taken; CodeNotFound if the user does not exist.
func (s *Store) CreateSession(ctx context.Context, sess parley.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sess.ID, sess.UserID, sess.TokenHash, sess.UserAgent, sess.Address,
		millis(sess.CreatedAt), millis(sess.LastSeenAt), millis(sess.ExpiresAt))
	return translate(err)
}

// SessionByTokenHash returns the session whose token hashes to h, expired
// or not. CodeNotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, h []byte) (parley.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, h))
	return sess, notFound(err, "session not found")
}

// SessionUserByTokenHash is SessionByTokenHash and the session's user in one
// query. CodeNotFound.
func (s *Store) SessionUserByTokenHash(ctx context.Context, h []byte) (parley.Session, parley.User, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+qualify("s", sessionCols)+`, `+qualify("u", userCols)+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, h)
	var u parley.User
	// scanSession's Scan runs scanUser's, which scans the whole row.
	sess, err := scanSession(scanFunc(func(sd ...any) error {
		var uerr error
		u, uerr = scanUser(scanFunc(func(ud ...any) error { return row.Scan(append(sd, ud...)...) }))
		return uerr
	}))
	if err != nil {
		return parley.Session{}, parley.User{}, notFound(err, "session not found")
	}
	return sess, u, nil
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// qualify prefixes every column of a comma-separated list with table alias t.
func qualify(t, cols string) string {
	return t + "." + strings.ReplaceAll(cols, ", ", ", "+t+".")
}

// Sessions lists userID's sessions, newest first.
func (s *Store) Sessions(ctx context.Context, userID string) ([]parley.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, translate(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Session, error) { return scanSession(r) })
	return list, translate(err)
}

// TouchSessions sets LastSeenAt and ExpiresAt of each session in one
// statement; ids that no longer exist are skipped.
func (s *Store) TouchSessions(ctx context.Context, touches []parley.SessionTouch) error {
	if len(touches) == 0 {
		return nil
	}
	ids := make([]string, len(touches))
	seen := make([]int64, len(touches))
	exp := make([]int64, len(touches))
	for i, t := range touches {
		ids[i], seen[i], exp[i] = t.ID, millis(t.LastSeen), millis(t.Expires)
	}
	_, err := s.pool.Exec(ctx, `UPDATE sessions s SET last_seen_at = t.seen, expires_at = t.exp
		FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t(id, seen, exp) WHERE s.id = t.id`, ids, seen, exp)
	return translate(err)
}

// DeleteSession removes one session of userID. CodeNotFound if it is not theirs.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "session not found")
	}
	return nil
}

// DeleteUserSessions removes every session of userID except keepID and
// returns the ids removed.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, userID, keepID)
	if err != nil {
		return nil, translate(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err)
}

// DeleteExpiredSessions removes the sessions that expired before `before`.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, millis(before))
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}
