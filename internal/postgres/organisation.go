package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const orgCols = `id, slug, name, registration, limits, require_2fa, created_at, updated_at`

func scanOrg(row pgx.Row) (parley.Organisation, error) {
	var (
		o                parley.Organisation
		reg, limits      string
		created, updated int64
	)
	if err := row.Scan(&o.ID, &o.Slug, &o.Name, &reg, &limits, &o.RequireTwoFactor, &created, &updated); err != nil {
		return o, err
	}
	o.Registration = parley.RegistrationPolicy(reg)
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
	_, err := s.pool.Exec(ctx, `INSERT INTO organisations (`+orgCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		o.ID, o.Slug, o.Name, string(o.Registration), encodeLimits(o.Limits), o.RequireTwoFactor,
		millis(o.CreatedAt), millis(o.UpdatedAt))
	e := translate(err)
	if parley.IsCode(e, parley.CodeConflict) {
		return &parley.Error{Code: parley.CodeConflict, Field: "slug", Message: "that slug is taken", Err: err}
	}
	return e
}

// Org implements parley.OrgStore.
func (s *Store) Org(ctx context.Context, id string) (parley.Organisation, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgCols+` FROM organisations WHERE id = $1`, id))
	return o, notFound(err, "organisation not found")
}

// OrgBySlug implements parley.OrgStore.
func (s *Store) OrgBySlug(ctx context.Context, slug string) (parley.Organisation, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, `SELECT `+orgCols+` FROM organisations WHERE slug = $1`, slug))
	return o, notFound(err, "organisation not found")
}

// Orgs implements parley.OrgStore.
func (s *Store) Orgs(ctx context.Context) ([]parley.Organisation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+orgCols+` FROM organisations ORDER BY slug LIMIT $1`, parley.MaxOrgs)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Organisation, error) { return scanOrg(r) })
	if out == nil {
		out = []parley.Organisation{}
	}
	return out, translate(err)
}

// UpdateOrg implements parley.OrgStore.
func (s *Store) UpdateOrg(ctx context.Context, o parley.Organisation) error {
	tag, err := s.pool.Exec(ctx, `UPDATE organisations SET name = $2, registration = $3, limits = $4,
		require_2fa = $5, updated_at = $6 WHERE id = $1`, o.ID, o.Name, string(o.Registration), encodeLimits(o.Limits),
		o.RequireTwoFactor, millis(o.UpdatedAt))
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "organisation not found")
	}
	return nil
}

// CountOrgUsers implements parley.OrgStore. Tombstones ('~…') are not
// counted.
func (s *Store) CountOrgUsers(ctx context.Context, org string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE org_id = $1 AND username < '~'`,
		parley.OrgID(org)).Scan(&n)
	return n, translate(err)
}
