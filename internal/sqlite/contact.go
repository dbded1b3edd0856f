package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parley-chat/parley"
)

// Contact queries shared in spirit with internal/postgres/contact.go (same
// SQL, other placeholders).
const (
	sqlIsContact     = `SELECT count(*) FROM contacts WHERE user_id = ? AND contact_id = ?`
	sqlHasRequest    = `SELECT count(*) FROM contact_requests WHERE from_id = ? AND to_id = ?`
	sqlAddContact    = `INSERT INTO contacts (user_id, contact_id, created_at) VALUES (?, ?, ?), (?, ?, ?)`
	sqlDeleteRequest = `DELETE FROM contact_requests WHERE from_id = ? AND to_id = ?`
)

func count(ctx context.Context, tx *sql.Tx, q string, args ...any) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// RequestContact implements parley.ContactStore.
func (s *Store) RequestContact(ctx context.Context, fromID, toID string, at time.Time) (bool, error) {
	accepted := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		accepted = false
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id IN (?, ?)`, fromID, toID); err != nil {
			return err
		} else if n != 2 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		contacts, err := count(ctx, tx, sqlIsContact, fromID, toID)
		if err != nil {
			return err
		}
		asked, err := count(ctx, tx, sqlHasRequest, fromID, toID)
		if err != nil {
			return err
		}
		crossing, err := count(ctx, tx, sqlHasRequest, toID, fromID)
		if err != nil {
			return err
		}
		if accepted, err = parley.AdmitContactRequest(contacts > 0, asked > 0, crossing > 0); err != nil {
			return err
		} else if accepted {
			if _, err := tx.ExecContext(ctx, sqlDeleteRequest, toID, fromID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, sqlAddContact, fromID, toID, millis(at), toID, fromID, millis(at))
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO contact_requests (from_id, to_id, created_at) VALUES (?, ?, ?)`,
			fromID, toID, millis(at))
		return err
	})
	return accepted, err
}

// AnswerContactRequest implements parley.ContactStore.
func (s *Store) AnswerContactRequest(ctx context.Context, fromID, toID string, accept bool, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlDeleteRequest, fromID, toID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, parley.ErrNoContactRequest())
		}
		if !accept {
			return nil
		}
		_, err = tx.ExecContext(ctx, sqlAddContact, fromID, toID, millis(at), toID, fromID, millis(at))
		return err
	})
}

// CancelContactRequest implements parley.ContactStore.
func (s *Store) CancelContactRequest(ctx context.Context, fromID, toID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlDeleteRequest, fromID, toID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, parley.ErrNoContactRequest())
		}
		return nil
	})
}

// RemoveContact implements parley.ContactStore.
func (s *Store) RemoveContact(ctx context.Context, a, b string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE user_id = ? AND contact_id = ? OR user_id = ? AND contact_id = ?`,
			a, b, b, a)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "not a contact"))
		}
		return nil
	})
}

// ContactRequests implements parley.ContactStore.
func (s *Store) ContactRequests(ctx context.Context, userID string, incoming bool) ([]parley.ContactRequest, error) {
	q := `SELECT from_id, to_id, created_at FROM contact_requests WHERE from_id = ? ORDER BY created_at, to_id`
	if incoming {
		q = `SELECT from_id, to_id, created_at FROM contact_requests WHERE to_id = ? ORDER BY created_at, from_id`
	}
	rows, err := s.read.QueryContext(ctx, q, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.ContactRequest{}
	for rows.Next() {
		var r parley.ContactRequest
		var at int64
		if err := rows.Scan(&r.FromID, &r.ToID, &at); err != nil {
			return nil, translate(err)
		}
		r.CreatedAt = fromMillis(at)
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// Contacts implements parley.ContactStore.
func (s *Store) Contacts(ctx context.Context, userID, after string, limit int) ([]parley.Contact, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT contact_id, created_at FROM contacts
		WHERE user_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?`, userID, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Contact{}
	for rows.Next() {
		var c parley.Contact
		var at int64
		if err := rows.Scan(&c.UserID, &at); err != nil {
			return nil, translate(err)
		}
		c.Since = fromMillis(at)
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// ContactDistance implements parley.ContactStore.
func (s *Store) ContactDistance(ctx context.Context, a, b string) (parley.Distance, error) {
	var d int
	err := s.read.QueryRowContext(ctx, `SELECT CASE
		WHEN EXISTS (SELECT 1 FROM contacts WHERE user_id = ? AND contact_id = ?) THEN 1
		WHEN EXISTS (SELECT 1 FROM contacts x JOIN contacts y ON y.user_id = x.contact_id
			WHERE x.user_id = ? AND y.contact_id = ?) THEN 2
		ELSE 0 END`, a, b, a, b).Scan(&d)
	return parley.Distance(d), translate(err)
}

// suggestMaxMembers leaves large conversations (channels) out of contact
// suggestions: sharing them says little and counting them costs much.
const suggestMaxMembers = 100

// ContactSuggestions implements parley.ContactStore.
func (s *Store) ContactSuggestions(ctx context.Context, userID string, limit int) ([]parley.ContactSuggestion, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT m2.user_id, count(*) AS n FROM members m1
		JOIN conversations c ON c.id = m1.conversation_id AND c.member_count <= ?
		JOIN members m2 ON m2.conversation_id = m1.conversation_id AND m2.user_id <> m1.user_id
		JOIN users u ON u.id = m2.user_id AND u.disabled = 0
		WHERE m1.user_id = ?
		AND NOT EXISTS (SELECT 1 FROM contacts WHERE user_id = m1.user_id AND contact_id = m2.user_id)
		AND NOT EXISTS (SELECT 1 FROM contact_requests WHERE from_id = m1.user_id AND to_id = m2.user_id
			OR from_id = m2.user_id AND to_id = m1.user_id)
		GROUP BY m2.user_id ORDER BY n DESC, m2.user_id LIMIT ?`, suggestMaxMembers, userID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.ContactSuggestion{}
	for rows.Next() {
		var c parley.ContactSuggestion
		if err := rows.Scan(&c.UserID, &c.Shared); err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// PrivacySettings implements parley.ContactStore.
func (s *Store) PrivacySettings(ctx context.Context, userID string) (parley.PrivacySettings, error) {
	var p parley.PrivacySettings
	err := s.read.QueryRowContext(ctx, `SELECT find_me, direct_from FROM privacy_settings WHERE user_id = ?`, userID).
		Scan(&p.FindMe, &p.DirectFrom)
	if errors.Is(err, sql.ErrNoRows) {
		return parley.DefaultPrivacySettings(), nil
	}
	return p.Normalize(), translate(err)
}

// SetPrivacySettings implements parley.ContactStore.
func (s *Store) SetPrivacySettings(ctx context.Context, userID string, p parley.PrivacySettings) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, userID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO privacy_settings (user_id, find_me, direct_from) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET find_me = excluded.find_me, direct_from = excluded.direct_from`,
			userID, string(p.FindMe), string(p.DirectFrom))
		return err
	})
}

// privacyScanner scans a user row followed by find_me and direct_from.
type privacyScanner struct {
	rows *sql.Rows
	p    *parley.PrivacySettings
}

func (r privacyScanner) Scan(dest ...any) error {
	return r.rows.Scan(append(dest, &r.p.FindMe, &r.p.DirectFrom)...)
}

// FindPeople implements parley.ContactStore. LIKE folds ASCII case only.
func (s *Store) FindPeople(ctx context.Context, org, query string, limit int) ([]parley.User, []parley.PrivacySettings, error) {
	prefix := escapeLike(query) + "%"
	sub := "%" + escapeLike(query) + "%"
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+`, coalesce(p.find_me, ''), coalesce(p.direct_from, '')
		FROM users u LEFT JOIN privacy_settings p ON p.user_id = u.id
		WHERE u.disabled = 0 AND u.org_id = ? AND (u.username LIKE ? ESCAPE '\' OR u.display_name LIKE ? ESCAPE '\')
		ORDER BY u.username LIKE ? ESCAPE '\' DESC, u.username LIMIT ?`, parley.OrgID(org), sub, sub, prefix, limit)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	users := []parley.User{}
	var privs []parley.PrivacySettings
	for rows.Next() {
		var p parley.PrivacySettings
		u, err := scanUser(privacyScanner{rows, &p})
		if err != nil {
			return nil, nil, translate(err)
		}
		users = append(users, u)
		privs = append(privs, p.Normalize())
	}
	return users, privs, translate(rows.Err())
}

// PeopleNames implements parley.ContactStore.
func (s *Store) PeopleNames(ctx context.Context, org, after string, limit int) ([]parley.PersonName, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, username, display_name FROM users
		WHERE disabled = 0 AND org_id = ? AND id > ? ORDER BY id LIMIT ?`, parley.OrgID(org), after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.PersonName{}
	for rows.Next() {
		var p parley.PersonName
		if err := rows.Scan(&p.ID, &p.Username, &p.DisplayName); err != nil {
			return nil, translate(err)
		}
		out = append(out, p)
	}
	return out, translate(rows.Err())
}
