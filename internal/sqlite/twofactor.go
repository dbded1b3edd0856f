package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley"
)

// TwoFactor implements parley.TwoFactorStore.
func (s *Store) TwoFactor(ctx context.Context, userID string) (parley.TwoFactor, error) {
	var (
		tf      = parley.TwoFactor{UserID: userID}
		enabled int
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT secret, enabled, last_step, created_at,
		(SELECT count(*) FROM recovery_codes WHERE user_id = ?) FROM two_factor WHERE user_id = ?`,
		userID, userID).Scan(&tf.Secret, &enabled, &tf.LastStep, &created, &tf.RecoveryLeft)
	if err != nil {
		return parley.TwoFactor{}, notFound(err, "two-factor sign-in is not set up")
	}
	tf.Enabled, tf.CreatedAt = enabled != 0, fromMillis(created)
	return tf, nil
}

// SetPendingTwoFactor implements parley.TwoFactorStore.
func (s *Store) SetPendingTwoFactor(ctx context.Context, userID string, secret []byte, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var enabled int
		err := tx.QueryRowContext(ctx, `SELECT enabled FROM two_factor WHERE user_id = ?`, userID).Scan(&enabled)
		switch {
		case err == nil && enabled != 0:
			return parley.Errorf(parley.CodeConflict, "two-factor sign-in is already on")
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := userExists(ctx, tx, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO two_factor (user_id, secret, enabled, last_step, created_at)
			VALUES (?, ?, 0, 0, ?) ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
			created_at = excluded.created_at`, userID, secret, millis(at))
		return err
	})
}

func userExists(ctx context.Context, tx *sql.Tx, userID string) error {
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
		return notFound(err, "user not found")
	}
	return nil
}

// EnableTwoFactor implements parley.TwoFactorStore.
func (s *Store) EnableTwoFactor(ctx context.Context, userID string, step int64, recoveryHashes [][]byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var enabled int
		err := tx.QueryRowContext(ctx, `SELECT enabled FROM two_factor WHERE user_id = ?`, userID).Scan(&enabled)
		if err != nil {
			return notFound(err, "no two-factor enrolment is pending")
		}
		if enabled != 0 {
			return parley.Errorf(parley.CodeConflict, "two-factor sign-in is already on")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE two_factor SET enabled = 1, last_step = ? WHERE user_id = ?`,
			step, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET two_factor = 1 WHERE id = ?`, userID); err != nil {
			return err
		}
		return replaceRecovery(ctx, tx, userID, recoveryHashes)
	})
}

func replaceRecovery(ctx context.Context, tx *sql.Tx, userID string, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`,
			userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseTwoFactorStep implements parley.TwoFactorStore.
func (s *Store) UseTwoFactorStep(ctx context.Context, userID string, step int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT last_step FROM two_factor WHERE user_id = ? AND enabled = 1`,
			userID).Scan(&last)
		if err != nil {
			return notFound(err, "two-factor sign-in is not on")
		}
		if step <= last {
			return parley.Errorf(parley.CodeConflict, "this code was used already; wait for the next one")
		}
		_, err = tx.ExecContext(ctx, `UPDATE two_factor SET last_step = ? WHERE user_id = ?`, step, userID)
		return err
	})
}

// UseRecoveryCode implements parley.TwoFactorStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, h []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, h))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "no such unused recovery code")
		}
		return err
	})
}

// ReplaceRecoveryCodes implements parley.TwoFactorStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM two_factor WHERE user_id = ? AND enabled = 1`,
			userID).Scan(&one); err != nil {
			return notFound(err, "two-factor sign-in is not on")
		}
		return replaceRecovery(ctx, tx, userID, hashes)
	})
}

// DeleteTwoFactor implements parley.TwoFactorStore.
func (s *Store) DeleteTwoFactor(ctx context.Context, userID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM two_factor WHERE user_id = ?`, userID))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "two-factor sign-in is not set up")
		} else if err != nil {
			return err
		}
		return clearTwoFactor(ctx, tx, userID)
	})
}

// clearTwoFactor removes what hangs off a second factor; the caller has
// deleted (or is deleting) the two_factor row.
func clearTwoFactor(ctx context.Context, tx *sql.Tx, userID string) error {
	for _, q := range []string{
		`DELETE FROM recovery_codes WHERE user_id = ?`,
		`DELETE FROM login_challenges WHERE user_id = ?`,
		`UPDATE users SET two_factor = 0 WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return err
		}
	}
	return nil
}

// CreateLoginChallenge implements parley.TwoFactorStore.
func (s *Store) CreateLoginChallenge(ctx context.Context, c parley.LoginChallenge) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, c.UserID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_challenges (token_hash, user_id, kind, address, user_agent,
			created_at, expires_at, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.TokenHash, c.UserID, string(c.Kind), c.Address, c.UserAgent, millis(c.CreatedAt), millis(c.ExpiresAt), c.Failures)
		return err
	})
}

// LoginChallenge implements parley.TwoFactorStore.
func (s *Store) LoginChallenge(ctx context.Context, h []byte) (parley.LoginChallenge, error) {
	var (
		c                parley.LoginChallenge
		kind             string
		created, expires int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT token_hash, user_id, kind, address, user_agent, created_at, expires_at,
		failures FROM login_challenges WHERE token_hash = ?`, h).Scan(&c.TokenHash, &c.UserID, &kind, &c.Address,
		&c.UserAgent, &created, &expires, &c.Failures)
	if err != nil {
		return parley.LoginChallenge{}, notFound(err, "sign-in challenge not found")
	}
	c.Kind, c.CreatedAt, c.ExpiresAt = parley.LoginChallengeKind(kind), fromMillis(created), fromMillis(expires)
	return c, nil
}

// FailLoginChallenge implements parley.TwoFactorStore.
func (s *Store) FailLoginChallenge(ctx context.Context, h []byte) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE login_challenges SET failures = failures + 1 WHERE token_hash = ?
			RETURNING failures`, h).Scan(&n)
		return notFound(err, "sign-in challenge not found")
	})
	return n, err
}

// DeleteLoginChallenge implements parley.TwoFactorStore.
func (s *Store) DeleteLoginChallenge(ctx context.Context, h []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM login_challenges WHERE token_hash = ?`, h))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "sign-in challenge not found")
		}
		return err
	})
}

// DeleteExpiredLoginChallenges implements parley.TwoFactorStore.
func (s *Store) DeleteExpiredLoginChallenges(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_challenges WHERE expires_at < ?`, millis(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
