package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley"
)

// CreateEmailToken implements parley.EmailStore.
func (s *Store) CreateEmailToken(ctx context.Context, t parley.EmailToken) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, t.UserID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND kind = ?`, t.UserID, string(t.Kind)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_tokens (hash, kind, user_id, email, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, string(t.Kind), t.UserID, t.Email, millis(t.CreatedAt), millis(t.ExpiresAt))
		return err
	})
}

// ConsumeEmailToken implements parley.EmailStore.
func (s *Store) ConsumeEmailToken(ctx context.Context, kind parley.EmailTokenKind, hash string, now time.Time) (parley.EmailToken, error) {
	var t parley.EmailToken
	expired := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx, `DELETE FROM email_tokens WHERE hash = ? AND kind = ?
			RETURNING hash, kind, user_id, email, created_at, expires_at`, hash, string(kind)).
			Scan(&t.Hash, &t.Kind, &t.UserID, &t.Email, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return parley.Errorf(parley.CodeNotFound, "no such token")
		} else if err != nil {
			return err
		}
		t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
		expired = !now.Before(t.ExpiresAt) // deleted all the same
		return nil
	})
	if err == nil && expired {
		return parley.EmailToken{}, parley.Errorf(parley.CodeNotFound, "no such token")
	}
	return t, err
}

// SetEmailVerified implements parley.EmailStore.
func (s *Store) SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, userID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_verified (user_id, email, verified_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at`,
			userID, email, millis(at))
		return err
	})
}

// VerifiedEmail implements parley.EmailStore.
func (s *Store) VerifiedEmail(ctx context.Context, userID string) (string, error) {
	var e string
	err := s.read.QueryRowContext(ctx, `SELECT email FROM email_verified WHERE user_id = ?`, userID).Scan(&e)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return e, translate(err)
}

// UsersByEmail implements parley.EmailStore.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM users WHERE lower(email) = lower(?) AND email <> '' ORDER BY id LIMIT 10`, email)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		out = append(out, id)
	}
	return out, translate(rows.Err())
}
