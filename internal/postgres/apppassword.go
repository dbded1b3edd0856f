package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const appPasswordCols = `id, user_id, name, hash, created_at, last_used_at` // #nosec G101 -- column names, no credential

func scanAppPassword(row pgx.Row) (parley.AppPassword, error) {
	var (
		p       parley.AppPassword
		created int64
		used    *int64
	)
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.Hash, &created, &used); err != nil {
		return parley.AppPassword{}, err
	}
	p.CreatedAt = fromMillis(created)
	if used != nil {
		t := fromMillis(*used)
		p.LastUsedAt = &t
	}
	return p, nil
}

// CreateAppPassword implements parley.AppPasswordStore.
func (s *Store) CreateAppPassword(ctx context.Context, p parley.AppPassword) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the user: concurrent creations count one after the other.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, p.UserID).Scan(&one); err != nil {
			return notFound(err, "user not found")
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM app_passwords WHERE user_id = $1`, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.AppPasswordsPerUser {
			return parley.Errorf(parley.CodeConflict, "at most %d app passwords; revoke one first", parley.AppPasswordsPerUser)
		}
		_, err := tx.Exec(ctx, `INSERT INTO app_passwords (`+appPasswordCols+`) VALUES ($1, $2, $3, $4, $5, NULL)`,
			p.ID, p.UserID, p.Name, p.Hash, millis(p.CreatedAt))
		return err
	})
}

// AppPasswords implements parley.AppPasswordStore.
func (s *Store) AppPasswords(ctx context.Context, userID string) ([]parley.AppPassword, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+appPasswordCols+` FROM app_passwords WHERE user_id = $1
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.AppPassword{}
	for rows.Next() {
		p, err := scanAppPassword(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, p)
	}
	return out, translate(rows.Err())
}

// UseAppPassword implements parley.AppPasswordStore.
func (s *Store) UseAppPassword(ctx context.Context, userID string, h []byte, at time.Time) (parley.AppPassword, error) {
	p, err := scanAppPassword(s.pool.QueryRow(ctx, `UPDATE app_passwords SET last_used_at = $3
		WHERE user_id = $1 AND hash = $2 RETURNING `+appPasswordCols, userID, h, millis(at)))
	return p, notFound(err, "no such app password")
}

// DeleteAppPassword implements parley.AppPasswordStore.
func (s *Store) DeleteAppPassword(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM app_passwords WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "app password not found")
	}
	return nil
}

// DeleteUserAppPasswords implements parley.AppPasswordStore.
func (s *Store) DeleteUserAppPasswords(ctx context.Context, userID string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM app_passwords WHERE user_id = $1`, userID)
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}
