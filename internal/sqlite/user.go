package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/parley-chat/parley"
)

const userColumns = `id, username, display_name, email, status_text, role, disabled, settings, created_at, updated_at, two_factor, bot_owner, org_id`

// maxVars bounds the number of ? placeholders in one statement (SQLite's
// default limit is 32766); longer id lists are queried in chunks.
const maxVars = 500

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(row rowScanner) (parley.User, error) {
	var (
		u                parley.User
		role, settings   string
		disabled, twoFA  int
		created, updated int64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.StatusText, &role, &disabled,
		&settings, &created, &updated, &twoFA, &u.BotOwner, &u.Org); err != nil {
		return parley.User{}, err
	}
	u.Role = parley.UserRole(role)
	u.Disabled = disabled != 0
	u.TwoFactor = twoFA != 0
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	u.Settings = parley.DefaultUserSettings()
	if err := json.Unmarshal([]byte(settings), &u.Settings); err != nil {
		return parley.User{}, parley.Internal(err)
	}
	if u.Settings.Theme == "" {
		u.Settings.Theme = parley.ThemeSystem
	}
	return u, nil
}

func encodeSettings(s parley.UserSettings) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", parley.Internal(err)
	}
	return string(b), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateUser implements parley.UserStore.
func (s *Store) CreateUser(ctx context.Context, u parley.User, passwordHash string) error {
	settings, err := encodeSettings(u.Settings)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`, password_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
			u.ID, u.Username, u.DisplayName, u.Email, u.StatusText, string(u.Role), boolInt(u.Disabled),
			settings, millis(u.CreatedAt), millis(u.UpdatedAt), u.BotOwner, parley.OrgID(u.Org), passwordHash)
		if err != nil {
			if e := translate(err); parley.IsCode(e, parley.CodeConflict) {
				return &parley.Error{Code: parley.CodeConflict, Message: "username is taken", Field: "username", Err: err}
			}
		}
		return err
	})
}

// User implements parley.UserStore.
func (s *Store) User(ctx context.Context, id string) (parley.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return parley.User{}, notFound(err, "user not found")
	}
	return u, nil
}

// UserByUsername implements parley.UserStore.
func (s *Store) UserByUsername(ctx context.Context, username string) (parley.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return parley.User{}, notFound(err, "user not found")
	}
	return u, nil
}

// Users implements parley.UserStore.
func (s *Store) Users(ctx context.Context, ids []string) ([]parley.User, error) {
	seen := make(map[string]bool, len(ids))
	uniq := make([]any, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	out := make([]parley.User, 0, len(uniq))
	for len(uniq) > 0 {
		n := min(len(uniq), maxVars)
		chunk := uniq[:n]
		uniq = uniq[n:]
		// #nosec G202 -- only placeholders are concatenated; values are bound
		rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE id IN (?`+
			strings.Repeat(",?", len(chunk)-1)+`)`, chunk...)
		if err != nil {
			return nil, translate(err)
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, translate(err)
			}
			out = append(out, u)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, translate(err)
		}
	}
	return out, nil
}

// PasswordHash implements parley.UserStore.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	if err := s.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&h); err != nil {
		return "", notFound(err, "user not found")
	}
	return h, nil
}

// SetPasswordHash implements parley.UserStore.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, scram_keys = '' WHERE id = ?`, hash, userID))
	})
}

// UpdateUser implements parley.UserStore.
func (s *Store) UpdateUser(ctx context.Context, u parley.User) error {
	settings, err := encodeSettings(u.Settings)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE users SET display_name = ?, email = ?, status_text = ?,
			settings = ?, role = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			u.DisplayName, u.Email, u.StatusText, settings, string(u.Role), boolInt(u.Disabled),
			millis(u.UpdatedAt), u.ID))
	})
}

// SearchUsers implements parley.UserStore. It range-scans the username
// index: username >= prefix AND username < successor(prefix).
func (s *Store) SearchUsers(ctx context.Context, org, prefix, after string, limit int) ([]parley.User, error) {
	if limit <= 0 {
		return []parley.User{}, nil
	}
	q := `SELECT ` + userColumns + ` FROM users WHERE disabled = 0 AND org_id = ? AND username >= ? AND username > ?`
	args := []any{parley.OrgID(org), prefix, after}
	if upper, ok := prefixSuccessor(prefix); ok {
		q += ` AND username < ?`
		args = append(args, upper)
	}
	q += ` ORDER BY username LIMIT ?`
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

// prefixSuccessor returns the smallest string greater than every string with
// the given prefix (bytewise), or false if there is none (empty prefix or
// all 0xff bytes).
func prefixSuccessor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// CountAdmins implements parley.UserStore.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND org_id = ?`,
		parley.DefaultOrgID).Scan(&n)
	return n, translate(err)
}

// notFound translates err, giving a missing row the message msg.
func notFound(err error, msg string) error {
	if err == sql.ErrNoRows {
		return &parley.Error{Code: parley.CodeNotFound, Message: msg}
	}
	return translate(err)
}

// mustAffect turns an Exec result that changed no row into CodeNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return parley.Errorf(parley.CodeNotFound, "not found")
	}
	return nil
}
