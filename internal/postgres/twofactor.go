package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// TwoFactor implements parley.TwoFactorStore.
func (s *Store) TwoFactor(ctx context.Context, userID string) (parley.TwoFactor, error) {
	tf := parley.TwoFactor{UserID: userID}
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT secret, enabled, last_step, created_at,
		(SELECT count(*) FROM recovery_codes WHERE user_id = $1) FROM two_factor WHERE user_id = $1`,
		userID).Scan(&tf.Secret, &tf.Enabled, &tf.LastStep, &created, &tf.RecoveryLeft)
	if err != nil {
		return parley.TwoFactor{}, notFound(err, "two-factor sign-in is not set up")
	}
	tf.CreatedAt = fromMillis(created)
	return tf, nil
}

// SetPendingTwoFactor implements parley.TwoFactorStore.
func (s *Store) SetPendingTwoFactor(ctx context.Context, userID string, secret []byte, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the user row: a concurrent enable or delete waits.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&one); err != nil {
			return notFound(err, "user not found")
		}
		var enabled bool
		err := tx.QueryRow(ctx, `SELECT enabled FROM two_factor WHERE user_id = $1`, userID).Scan(&enabled)
		switch {
		case err == nil && enabled:
			return parley.Errorf(parley.CodeConflict, "two-factor sign-in is already on")
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO two_factor (user_id, secret, enabled, last_step, created_at)
			VALUES ($1, $2, FALSE, 0, $3) ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
			created_at = excluded.created_at`, userID, secret, millis(at))
		return err
	})
}

// EnableTwoFactor implements parley.TwoFactorStore.
func (s *Store) EnableTwoFactor(ctx context.Context, userID string, step int64, recoveryHashes [][]byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var enabled bool
		err := tx.QueryRow(ctx, `SELECT enabled FROM two_factor WHERE user_id = $1 FOR UPDATE`, userID).Scan(&enabled)
		if err != nil {
			return notFound(err, "no two-factor enrolment is pending")
		}
		if enabled {
			return parley.Errorf(parley.CodeConflict, "two-factor sign-in is already on")
		}
		if _, err := tx.Exec(ctx, `UPDATE two_factor SET enabled = TRUE, last_step = $2 WHERE user_id = $1`,
			userID, step); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET two_factor = TRUE WHERE id = $1`, userID); err != nil {
			return err
		}
		return replaceRecovery(ctx, tx, userID, recoveryHashes)
	})
}

func replaceRecovery(ctx context.Context, tx pgx.Tx, userID string, hashes [][]byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	if len(hashes) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`,
		userID, hashes)
	return err
}

// UseTwoFactorStep implements parley.TwoFactorStore.
func (s *Store) UseTwoFactorStep(ctx context.Context, userID string, step int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE two_factor SET last_step = $2 WHERE user_id = $1 AND enabled AND last_step < $2`,
		userID, step)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM two_factor WHERE user_id = $1 AND enabled`, userID).Scan(&one); err != nil {
		return notFound(err, "two-factor sign-in is not on")
	}
	return parley.Errorf(parley.CodeConflict, "this code was used already; wait for the next one")
}

// UseRecoveryCode implements parley.TwoFactorStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, h []byte) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, h)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "no such unused recovery code")
	}
	return nil
}

// ReplaceRecoveryCodes implements parley.TwoFactorStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM two_factor WHERE user_id = $1 AND enabled FOR UPDATE`,
			userID).Scan(&one); err != nil {
			return notFound(err, "two-factor sign-in is not on")
		}
		return replaceRecovery(ctx, tx, userID, hashes)
	})
}

// DeleteTwoFactor implements parley.TwoFactorStore.
func (s *Store) DeleteTwoFactor(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM two_factor WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return parley.Errorf(parley.CodeNotFound, "two-factor sign-in is not set up")
		}
		return clearTwoFactor(ctx, tx, userID)
	})
}

// clearTwoFactor removes a second factor and what hangs off it.
func clearTwoFactor(ctx context.Context, tx pgx.Tx, userID string) error {
	for _, q := range []string{
		`DELETE FROM two_factor WHERE user_id = $1`,
		`DELETE FROM recovery_codes WHERE user_id = $1`,
		`DELETE FROM login_challenges WHERE user_id = $1`,
		`UPDATE users SET two_factor = FALSE WHERE id = $1`,
	} {
		if _, err := tx.Exec(ctx, q, userID); err != nil {
			return err
		}
	}
	return nil
}

// CreateLoginChallenge implements parley.TwoFactorStore.
func (s *Store) CreateLoginChallenge(ctx context.Context, c parley.LoginChallenge) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO login_challenges (token_hash, user_id, kind, address, user_agent,
		created_at, expires_at, failures) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.TokenHash, c.UserID, string(c.Kind), c.Address, c.UserAgent, millis(c.CreatedAt), millis(c.ExpiresAt), c.Failures)
	return translate(err)
}

// LoginChallenge implements parley.TwoFactorStore.
func (s *Store) LoginChallenge(ctx context.Context, h []byte) (parley.LoginChallenge, error) {
	var (
		c                parley.LoginChallenge
		kind             string
		created, expires int64
	)
	err := s.pool.QueryRow(ctx, `SELECT token_hash, user_id, kind, address, user_agent, created_at, expires_at,
		failures FROM login_challenges WHERE token_hash = $1`, h).Scan(&c.TokenHash, &c.UserID, &kind, &c.Address,
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
	err := s.pool.QueryRow(ctx, `UPDATE login_challenges SET failures = failures + 1 WHERE token_hash = $1
		RETURNING failures`, h).Scan(&n)
	return n, notFound(err, "sign-in challenge not found")
}

// DeleteLoginChallenge implements parley.TwoFactorStore.
func (s *Store) DeleteLoginChallenge(ctx context.Context, h []byte) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_challenges WHERE token_hash = $1`, h)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "sign-in challenge not found")
	}
	return nil
}

// DeleteExpiredLoginChallenges implements parley.TwoFactorStore.
func (s *Store) DeleteExpiredLoginChallenges(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_challenges WHERE expires_at < $1`, millis(before))
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}
