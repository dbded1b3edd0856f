package postgres

import (
	"context"

	"github.com/parley-chat/parley"
)

// ScramKeys implements parley.ScramStore.
func (s *Store) ScramKeys(ctx context.Context, userID string) (string, error) {
	var k string
	err := s.pool.QueryRow(ctx, `SELECT scram_keys FROM users WHERE id = $1`, userID).Scan(&k)
	return k, notFound(err, "user not found")
}

// SetScramKeys implements parley.ScramStore.
func (s *Store) SetScramKeys(ctx context.Context, userID, passwordHash, keys string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET scram_keys = $3 WHERE id = $1 AND password_hash = $2`,
		userID, passwordHash, keys)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return nil
}
