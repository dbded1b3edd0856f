package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Contact queries; the same SQL as internal/sqlite/contact.go.
const (
	sqlIsContact     = `SELECT count(*) FROM contacts WHERE user_id = $1 AND contact_id = $2`
	sqlHasRequest    = `SELECT count(*) FROM contact_requests WHERE from_id = $1 AND to_id = $2`
	sqlAddContact    = `INSERT INTO contacts (user_id, contact_id, created_at) VALUES ($1, $2, $3), ($2, $1, $3)`
	sqlDeleteRequest = `DELETE FROM contact_requests WHERE from_id = $1 AND to_id = $2`
)

func count(ctx context.Context, tx pgx.Tx, q string, args ...any) (int, error) {
	var n int
	err := tx.QueryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// lockPair serialises writes about the pair (a, b) in either direction, so
// that crossing requests meet (one of them accepts the other).
func lockPair(ctx context.Context, tx pgx.Tx, a, b string) error {
	if a > b {
		a, b = b, a
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('parley.contact.' || $1 || ':' || $2))`, a, b)
	return err
}

// RequestContact implements parley.ContactStore.
func (s *Store) RequestContact(ctx context.Context, fromID, toID string, at time.Time) (bool, error) {
	accepted := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		accepted = false
		if err := lockPair(ctx, tx, fromID, toID); err != nil {
			return err
		}
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id IN ($1, $2)`, fromID, toID); err != nil {
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
			if _, err := tx.Exec(ctx, sqlDeleteRequest, toID, fromID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sqlAddContact, fromID, toID, millis(at))
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO contact_requests (from_id, to_id, created_at) VALUES ($1, $2, $3)`,
			fromID, toID, millis(at))
		return err
	})
	return accepted, err
}

// AnswerContactRequest implements parley.ContactStore.
func (s *Store) AnswerContactRequest(ctx context.Context, fromID, toID string, accept bool, at time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockPair(ctx, tx, fromID, toID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sqlDeleteRequest, fromID, toID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return parley.ErrNoContactRequest()
		}
		if !accept {
			return nil
		}
		_, err = tx.Exec(ctx, sqlAddContact, fromID, toID, millis(at))
		return err
	})
}

// CancelContactRequest implements parley.ContactStore.
func (s *Store) CancelContactRequest(ctx context.Context, fromID, toID string) error {
	tag, err := s.pool.Exec(ctx, sqlDeleteRequest, fromID, toID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.ErrNoContactRequest()
	}
	return nil
}

// RemoveContact implements parley.ContactStore.
func (s *Store) RemoveContact(ctx context.Context, a, b string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM contacts WHERE user_id = $1 AND contact_id = $2 OR user_id = $2 AND contact_id = $1`, a, b)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "not a contact")
	}
	return nil
}

// ContactRequests implements parley.ContactStore.
func (s *Store) ContactRequests(ctx context.Context, userID string, incoming bool) ([]parley.ContactRequest, error) {
	q := `SELECT from_id, to_id, created_at FROM contact_requests WHERE from_id = $1 ORDER BY created_at, to_id`
	if incoming {
		q = `SELECT from_id, to_id, created_at FROM contact_requests WHERE to_id = $1 ORDER BY created_at, from_id`
	}
	rows, err := s.pool.Query(ctx, q, userID)
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
	rows, err := s.pool.Query(ctx, `SELECT contact_id, created_at FROM contacts
		WHERE user_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3`, userID, after, limit)
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
	err := s.pool.QueryRow(ctx, `SELECT CASE
		WHEN EXISTS (SELECT 1 FROM contacts WHERE user_id = $1 AND contact_id = $2) THEN 1
		WHEN EXISTS (SELECT 1 FROM contacts x JOIN contacts y ON y.user_id = x.contact_id
			WHERE x.user_id = $1 AND y.contact_id = $2) THEN 2
		ELSE 0 END`, a, b).Scan(&d)
	return parley.Distance(d), translate(err)
}

// suggestMaxMembers leaves large conversations (channels) out of contact
// suggestions: sharing them says little and counting them costs much.
const suggestMaxMembers = 100

// ContactSuggestions implements parley.ContactStore.
func (s *Store) ContactSuggestions(ctx context.Context, userID string, limit int) ([]parley.ContactSuggestion, error) {
	rows, err := s.pool.Query(ctx, `SELECT m2.user_id, count(*) AS n FROM members m1
		JOIN conversations c ON c.id = m1.conversation_id AND c.member_count <= $1
		JOIN members m2 ON m2.conversation_id = m1.conversation_id AND m2.user_id <> m1.user_id
		JOIN users u ON u.id = m2.user_id AND NOT u.disabled
		WHERE m1.user_id = $2
		AND NOT EXISTS (SELECT 1 FROM contacts WHERE user_id = m1.user_id AND contact_id = m2.user_id)
		AND NOT EXISTS (SELECT 1 FROM contact_requests WHERE from_id = m1.user_id AND to_id = m2.user_id
			OR from_id = m2.user_id AND to_id = m1.user_id)
		GROUP BY m2.user_id ORDER BY n DESC, m2.user_id LIMIT $3`, suggestMaxMembers, userID, limit)
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
	err := s.pool.QueryRow(ctx, `SELECT find_me, direct_from FROM privacy_settings WHERE user_id = $1`, userID).
		Scan(&p.FindMe, &p.DirectFrom)
	if errors.Is(err, pgx.ErrNoRows) {
		return parley.DefaultPrivacySettings(), nil
	}
	return p.Normalize(), translate(err)
}

// SetPrivacySettings implements parley.ContactStore.
func (s *Store) SetPrivacySettings(ctx context.Context, userID string, p parley.PrivacySettings) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO privacy_settings (user_id, find_me, direct_from) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET find_me = excluded.find_me, direct_from = excluded.direct_from`,
		userID, string(p.FindMe), string(p.DirectFrom))
	if parley.IsCode(translate(err), parley.CodeNotFound) {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return translate(err)
}

// FindPeople implements parley.ContactStore.
func (s *Store) FindPeople(ctx context.Context, org, query string, limit int) ([]parley.User, []parley.PrivacySettings, error) {
	prefix := escapeLike(query) + "%"
	sub := "%" + escapeLike(query) + "%"
	rows, err := s.pool.Query(ctx, `SELECT u.id, u.username, u.display_name, u.email, u.status_text, u.role,
		u.disabled, u.settings, u.created_at, u.updated_at, u.two_factor, u.bot_owner, u.org_id, coalesce(p.find_me, ''), coalesce(p.direct_from, '')
		FROM users u LEFT JOIN privacy_settings p ON p.user_id = u.id
		WHERE NOT u.disabled AND u.org_id = $4 AND (u.username ILIKE $1 OR u.display_name ILIKE $1)
		ORDER BY u.username LIKE $2 DESC, u.username LIMIT $3`, sub, prefix, limit, parley.OrgID(org))
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	users := []parley.User{}
	var privs []parley.PrivacySettings
	for rows.Next() {
		var p parley.PrivacySettings
		u, err := scanUser(privacyRow{rows, &p})
		if err != nil {
			return nil, nil, translate(err)
		}
		users = append(users, u)
		privs = append(privs, p.Normalize())
	}
	return users, privs, translate(rows.Err())
}

// privacyRow scans a user row followed by find_me and direct_from.
type privacyRow struct {
	rows pgx.Rows
	p    *parley.PrivacySettings
}

func (r privacyRow) Scan(dest ...any) error {
	return r.rows.Scan(append(dest, &r.p.FindMe, &r.p.DirectFrom)...)
}

// PeopleNames implements parley.ContactStore.
func (s *Store) PeopleNames(ctx context.Context, org, after string, limit int) ([]parley.PersonName, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, username, display_name FROM users
		WHERE NOT disabled AND org_id = $3 AND id > $1 ORDER BY id LIMIT $2`, after, limit, parley.OrgID(org))
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
