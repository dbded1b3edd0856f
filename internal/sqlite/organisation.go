package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/parley-chat/parley"
)

const orgColumns = `id, slug, name, registration, limits, require_2fa, created_at, updated_at`

func scanOrg(row rowScanner) (parley.Organisation, error) {
	var (
		o                parley.Organisation
		reg, limits      string
		twoFA            int
		created, updated int64
	)
	if err := row.Scan(&o.ID, &o.Slug, &o.Name, &reg, &limits, &twoFA, &created, &updated); err != nil {
		return o, err
	}
	o.Registration = parley.RegistrationPolicy(reg)
	o.RequireTwoFactor = twoFA != 0
	o.CreatedAt, o.UpdatedAt = fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal([]byte(limits), &o.Limits); err != nil {
		return o, parley.Internal(err)
	}
	return o, nil
}

func encodeLimits(l parley.OrgLimits) string {
	b, _ := json.Marshal(l) // a struct of numbers always encodes
	return string(b)
}

// CreateOrg implements parley.OrgStore.
func (s *Store) CreateOrg(ctx context.Context, o parley.Organisation) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO organisations (`+orgColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.Slug, o.Name, string(o.Registration), encodeLimits(o.Limits), boolInt(o.RequireTwoFactor),
			millis(o.CreatedAt), millis(o.UpdatedAt))
		if e := translate(err); parley.IsCode(e, parley.CodeConflict) {
			return &parley.Error{Code: parley.CodeConflict, Field: "slug", Message: "that slug is taken", Err: err}
		}
		return err
	})
}

// Org implements parley.OrgStore.
func (s *Store) Org(ctx context.Context, id string) (parley.Organisation, error) {
	o, err := scanOrg(s.read.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = ?`, id))
	return o, notFound(err, "organisation not found")
}

// OrgBySlug implements parley.OrgStore.
func (s *Store) OrgBySlug(ctx context.Context, slug string) (parley.Organisation, error) {
	o, err := scanOrg(s.read.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organisations WHERE slug = ?`, slug))
	return o, notFound(err, "organisation not found")
}

// Orgs implements parley.OrgStore.
func (s *Store) Orgs(ctx context.Context) ([]parley.Organisation, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+orgColumns+` FROM organisations ORDER BY slug LIMIT ?`, parley.MaxOrgs)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Organisation{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, o)
	}
	return out, translate(rows.Err())
}

// UpdateOrg implements parley.OrgStore.
func (s *Store) UpdateOrg(ctx context.Context, o parley.Organisation) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `UPDATE organisations SET name = ?, registration = ?, limits = ?,
			require_2fa = ?, updated_at = ? WHERE id = ?`, o.Name, string(o.Registration), encodeLimits(o.Limits),
			boolInt(o.RequireTwoFactor), millis(o.UpdatedAt), o.ID))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "organisation not found")
		}
		return err
	})
}

// CountOrgUsers implements parley.OrgStore. Tombstones ('~…') are not
// counted.
func (s *Store) CountOrgUsers(ctx context.Context, org string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = ? AND username < '~'`,
		parley.OrgID(org)).Scan(&n)
	return n, translate(err)
}
