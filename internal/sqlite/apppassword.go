package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/parley-chat/parley"
)

const appPasswordColumns = `id, user_id, name, hash, created_at, last_used_at` // #nosec G101 -- column names, no credential

func scanAppPassword(row rowScanner) (parley.AppPassword, error) {
	var (
		p       parley.AppPassword
		created int64
		used    sql.NullInt64
	)
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.Hash, &created, &used); err != nil {
		return parley.AppPassword{}, err
	}
	p.CreatedAt = fromMillis(created)
	if used.Valid {
		t := fromMillis(used.Int64)
		p.LastUsedAt = &t
	}
	return p, nil
}

// CreateAppPassword implements parley.AppPasswordStore.
func (s *Store) CreateAppPassword(ctx context.Context, p parley.AppPassword) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, p.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM app_passwords WHERE user_id = ?`, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.AppPasswordsPerUser {
			return parley.Errorf(parley.CodeConflict, "at most %d app passwords; revoke one first", parley.AppPasswordsPerUser)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO app_passwords (`+appPasswordColumns+`) VALUES (?, ?, ?, ?, ?, NULL)`,
			p.ID, p.UserID, p.Name, p.Hash, millis(p.CreatedAt))
		return err
	})
}

// AppPasswords implements parley.AppPasswordStore.
func (s *Store) AppPasswords(ctx context.Context, userID string) ([]parley.AppPassword, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+appPasswordColumns+` FROM app_passwords WHERE user_id = ?
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
	var p parley.AppPassword
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanAppPassword(tx.QueryRowContext(ctx, `UPDATE app_passwords SET last_used_at = ?
			WHERE user_id = ? AND hash = ? RETURNING `+appPasswordColumns, millis(at), userID, h))
		return notFound(err, "no such app password")
	})
	return p, err
}

// DeleteAppPassword implements parley.AppPasswordStore.
func (s *Store) DeleteAppPassword(ctx context.Context, userID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM app_passwords WHERE user_id = ? AND id = ?`, userID, id))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "app password not found")
		}
		return err
	})
}

// DeleteUserAppPasswords implements parley.AppPasswordStore.
func (s *Store) DeleteUserAppPasswords(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM app_passwords WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
