package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-chat/parley"
)

// OrgUpdate changes an organisation; nil fields stay as they are.
type OrgUpdate struct {
	Name             *string                    `json:"name,omitempty"`
	Registration     *parley.RegistrationPolicy `json:"registration,omitempty"`
	Limits           *parley.OrgLimits          `json:"limits,omitempty"`
	RequireTwoFactor *bool                      `json:"require_2fa,omitempty"`
}

// CreateOrg creates an organisation (server admins only). Registration ""
// is invite.
func (c *Client) CreateOrg(ctx context.Context, o parley.Organisation) (parley.Organisation, error) {
	var out parley.Organisation
	body := map[string]any{"slug": o.Slug, "name": o.Name, "limits": o.Limits, "require_2fa": o.RequireTwoFactor}
	if o.Registration != "" {
		body["registration"] = o.Registration
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/orgs", nil, body, &out)
	return out, err
}

// Orgs lists the organisations the caller manages.
func (c *Client) Orgs(ctx context.Context) ([]parley.Organisation, error) {
	var out struct {
		Organisations []parley.Organisation `json:"organisations"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/admin/orgs", nil, nil, &out)
	return out.Organisations, err
}

// UpdateOrg changes an organisation the caller manages.
func (c *Client) UpdateOrg(ctx context.Context, id string, u OrgUpdate) (parley.Organisation, error) {
	var out parley.Organisation
	_, err := c.do(ctx, http.MethodPatch, "/api/v1/admin/orgs/"+url.PathEscape(id), nil, u, &out)
	return out, err
}
