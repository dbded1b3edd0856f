package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Phone verification; the same SQL as internal/sqlite/phone.go.

// SetPhoneCode implements parley.PhoneStore.
func (s *Store) SetPhoneCode(ctx context.Context, userID, phone, codeHash string, expires time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO phone_codes (user_id, phone, code_hash, expires_at, attempts)
		SELECT id, $2, $3, $4, 0 FROM users WHERE id = $1
		ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, code_hash = excluded.code_hash,
		expires_at = excluded.expires_at, attempts = 0`, userID, phone, codeHash, millis(expires))
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return nil
}

// CheckPhoneCode implements parley.PhoneStore.
func (s *Store) CheckPhoneCode(ctx context.Context, userID, codeHash string, now time.Time, maxAttempts int) (string, error) {
	var phone string
	var wrong bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var hash string
		var expires int64
		var attempts int
		err := tx.QueryRow(ctx, `SELECT phone, code_hash, expires_at, attempts FROM phone_codes WHERE user_id = $1 FOR UPDATE`,
			userID).Scan(&phone, &hash, &expires, &attempts)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !now.Before(fromMillis(expires)) {
			return parley.Errorf(parley.CodeNotFound, "no pending code")
		} else if err != nil {
			return err
		}
		if hash != codeHash {
			wrong = true
			if attempts+1 >= maxAttempts {
				_, err = tx.Exec(ctx, `DELETE FROM phone_codes WHERE user_id = $1`, userID)
			} else {
				_, err = tx.Exec(ctx, `UPDATE phone_codes SET attempts = attempts + 1 WHERE user_id = $1`, userID)
			}
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM phone_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO phone_verified (user_id, phone, verified_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, verified_at = excluded.verified_at`,
			userID, phone, millis(now))
		return err
	})
	if err == nil && wrong {
		return "", parley.Invalid("code", "wrong code")
	}
	return phone, err
}

// VerifiedPhone implements parley.PhoneStore.
func (s *Store) VerifiedPhone(ctx context.Context, userID string) (string, error) {
	var p string
	err := s.pool.QueryRow(ctx, `SELECT phone FROM phone_verified WHERE user_id = $1`, userID).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return p, translate(err)
}
