package sqlite

import (
	"context"
	"database/sql"
)

// ScramKeys implements parley.ScramStore.
func (s *Store) ScramKeys(ctx context.Context, userID string) (string, error) {
	var k string
	if err := s.read.QueryRowContext(ctx, `SELECT scram_keys FROM users WHERE id = ?`, userID).Scan(&k); err != nil {
		return "", notFound(err, "user not found")
	}
	return k, nil
}

// SetScramKeys implements parley.ScramStore.
func (s *Store) SetScramKeys(ctx context.Context, userID, passwordHash, keys string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE users SET scram_keys = ? WHERE id = ? AND password_hash = ?`,
			keys, userID, passwordHash))
	})
}
