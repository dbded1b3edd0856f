package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley"
)

// SetPhoneCode implements parley.PhoneStore.
func (s *Store) SetPhoneCode(ctx context.Context, userID, phone, codeHash string, expires time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, userID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO phone_codes (user_id, phone, code_hash, expires_at, attempts)
			VALUES (?, ?, ?, ?, 0) ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone,
			code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0`,
			userID, phone, codeHash, millis(expires))
		return err
	})
}

// CheckPhoneCode implements parley.PhoneStore.
func (s *Store) CheckPhoneCode(ctx context.Context, userID, codeHash string, now time.Time, maxAttempts int) (string, error) {
	var phone string
	var wrong bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var hash string
		var expires int64
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT phone, code_hash, expires_at, attempts FROM phone_codes WHERE user_id = ?`,
			userID).Scan(&phone, &hash, &expires, &attempts)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !now.Before(fromMillis(expires)) {
			return parley.Errorf(parley.CodeNotFound, "no pending code")
		} else if err != nil {
			return err
		}
		if hash != codeHash {
			wrong = true
			if attempts+1 >= maxAttempts {
				_, err = tx.ExecContext(ctx, `DELETE FROM phone_codes WHERE user_id = ?`, userID)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE phone_codes SET attempts = attempts + 1 WHERE user_id = ?`, userID)
			}
			return err // committed: the attempt counts
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO phone_verified (user_id, phone, verified_at) VALUES (?, ?, ?)
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
	err := s.read.QueryRowContext(ctx, `SELECT phone FROM phone_verified WHERE user_id = ?`, userID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return p, translate(err)
}
