package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Email tokens and verified addresses; the same SQL as internal/sqlite/email.go.

// CreateEmailToken implements parley.EmailStore.
func (s *Store) CreateEmailToken(ctx context.Context, t parley.EmailToken) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM users WHERE id = $1 FOR UPDATE) u`, t.UserID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND kind = $2`, t.UserID, string(t.Kind)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO email_tokens (hash, kind, user_id, email, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, t.Hash, string(t.Kind), t.UserID, t.Email, millis(t.CreatedAt), millis(t.ExpiresAt))
		return err
	})
}

// ConsumeEmailToken implements parley.EmailStore.
func (s *Store) ConsumeEmailToken(ctx context.Context, kind parley.EmailTokenKind, hash string, now time.Time) (parley.EmailToken, error) {
	var t parley.EmailToken
	var created, expires int64
	err := s.pool.QueryRow(ctx, `DELETE FROM email_tokens WHERE hash = $1 AND kind = $2
		RETURNING hash, kind, user_id, email, created_at, expires_at`, hash, string(kind)).
		Scan(&t.Hash, &t.Kind, &t.UserID, &t.Email, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, parley.Errorf(parley.CodeNotFound, "no such token")
	} else if err != nil {
		return t, translate(err)
	}
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	if !now.Before(t.ExpiresAt) {
		return parley.EmailToken{}, parley.Errorf(parley.CodeNotFound, "no such token")
	}
	return t, nil
}

// SetEmailVerified implements parley.EmailStore.
func (s *Store) SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO email_verified (user_id, email, verified_at)
		SELECT id, $2, $3 FROM users WHERE id = $1
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at`,
		userID, email, millis(at))
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return nil
}

// VerifiedEmail implements parley.EmailStore.
func (s *Store) VerifiedEmail(ctx context.Context, userID string) (string, error) {
	var e string
	err := s.pool.QueryRow(ctx, `SELECT email FROM email_verified WHERE user_id = $1`, userID).Scan(&e)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return e, translate(err)
}

// UsersByEmail implements parley.EmailStore.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM users WHERE lower(email) = lower($1) AND email <> '' ORDER BY id LIMIT 10`, email)
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
