package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const userCols = `id, username, display_name, email, status_text, role, disabled, settings, created_at, updated_at, two_factor, bot_owner, org_id`

func scanUser(row pgx.Row) (parley.User, error) {
	var u parley.User
	var role, settings string
	var created, updated int64
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.StatusText, &role, &u.Disabled,
		&settings, &created, &updated, &u.TwoFactor, &u.BotOwner, &u.Org)
	if err != nil {
		return parley.User{}, err
	}
	u.Role = parley.UserRole(role)
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	u.Settings = parley.DefaultUserSettings()
	if settings != "" {
		if err := json.Unmarshal([]byte(settings), &u.Settings); err != nil {
			return parley.User{}, err
		}
	}
	return u, nil
}

func encodeSettings(s parley.UserSettings) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// CreateUser inserts u with its password hash. CodeConflict if the id or
// username is taken.
func (s *Store) CreateUser(ctx context.Context, u parley.User, passwordHash string) error {
	settings, err := encodeSettings(u.Settings)
	if err != nil {
		return parley.Internal(err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE, $11, $12, $13)`,
		u.ID, u.Username, u.DisplayName, u.Email, u.StatusText, string(u.Role), u.Disabled, settings,
		millis(u.CreatedAt), millis(u.UpdatedAt), u.BotOwner, parley.OrgID(u.Org), passwordHash)
	return translate(err)
}

// User returns the user with id. CodeNotFound.
func (s *Store) User(ctx context.Context, id string) (parley.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, notFound(err, "user not found")
}

// UserByUsername looks up by canonical username. CodeNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (parley.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	return u, notFound(err, "user not found")
}

// Users returns the existing users among ids, each once.
func (s *Store) Users(ctx context.Context, ids []string) ([]parley.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, translate(err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.User, error) { return scanUser(r) })
	return users, translate(err)
}

// PasswordHash returns the stored hash of userID. CodeNotFound.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&h)
	return h, notFound(err, "user not found")
}

// SetPasswordHash replaces the hash. CodeNotFound.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $2, scram_keys = '' WHERE id = $1`, userID, hash)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return nil
}

// UpdateUser replaces the mutable profile fields of u.ID. CodeNotFound.
func (s *Store) UpdateUser(ctx context.Context, u parley.User) error {
	settings, err := encodeSettings(u.Settings)
	if err != nil {
		return parley.Internal(err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE users SET display_name = $2, email = $3, status_text = $4,
		settings = $5, role = $6, disabled = $7, updated_at = $8 WHERE id = $1`,
		u.ID, u.DisplayName, u.Email, u.StatusText, settings, string(u.Role), u.Disabled, millis(u.UpdatedAt))
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return nil
}

// SearchUsers returns up to limit enabled users whose username starts with
// prefix and sorts after `after`, ordered bytewise by username.
func (s *Store) SearchUsers(ctx context.Context, org, prefix, after string, limit int) ([]parley.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users
		WHERE org_id = $4 AND username >= $1 AND starts_with(username, $1) AND username > $2 AND NOT disabled
		ORDER BY username LIMIT $3`, prefix, after, limit, parley.OrgID(org))
	if err != nil {
		return nil, translate(err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.User, error) { return scanUser(r) })
	return users, translate(err)
}

// CountAdmins returns the number of enabled admin accounts.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND org_id = $1`,
		parley.DefaultOrgID).Scan(&n)
	return n, translate(err)
}

// notFound translates err, naming what was not found for pgx.ErrNoRows.
func notFound(err error, msg string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return parley.Errorf(parley.CodeNotFound, "%s", msg)
	}
	return translate(err)
}
