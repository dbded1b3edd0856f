package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parley-chat/parley"
)

// Admin endpoints (admins only; everyone else gets CodeForbidden). See
// docs/accounts.md.

// Overview is the server overview an admin sees.
type Overview struct {
	Version       string                    `json:"version"`
	StartedAt     time.Time                 `json:"started_at"`
	UptimeSeconds int64                     `json:"uptime_seconds"`
	Store         string                    `json:"store"`
	Bus           string                    `json:"bus"`
	Registration  parley.RegistrationPolicy `json:"registration"`
	Counts        parley.ServerCounts       `json:"counts"`
	Sockets       int                       `json:"sockets"`
	DataDirBytes  int64                     `json:"data_dir_bytes"` // -1: no data directory of its own
	Admins        int                       `json:"admins"`
}

// AdminCreateUserRequest creates an account under any registration policy.
type AdminCreateUserRequest struct {
	Username    string          `json:"username"`
	Password    string          `json:"password"`
	DisplayName string          `json:"display_name,omitempty"`
	Email       string          `json:"email,omitempty"`
	Role        parley.UserRole `json:"role,omitempty"` // default user
	// Organisation is the slug of the account's organisation (default:
	// the admin's own).
	Organisation string `json:"organisation,omitempty"`
}

// CreateInviteRequest makes an invite: MaxUses 0 means 1, ExpiresIn 0 never.
type CreateInviteRequest struct {
	MaxUses   int
	ExpiresIn time.Duration
	Note      string
	OrgID     string // "": the admin's own organisation
}

// Overview returns the server overview.
func (c *Client) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	_, err := c.do(ctx, http.MethodGet, "/api/v1/admin/overview", nil, nil, &o)
	return o, err
}

// AdminUsers lists accounts by username prefix (disabled ones included),
// a page at a time; next is the after cursor of the next page ("" at the end).
func (c *Client) AdminUsers(ctx context.Context, prefix, after string, limit int) (users []parley.User, next string, err error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Users     []parley.User `json:"users"`
		NextAfter string        `json:"next_after"`
	}
	_, err = c.do(ctx, http.MethodGet, "/api/v1/admin/users", q, nil, &out)
	return out.Users, out.NextAfter, err
}

// AdminCreateUser creates an account.
func (c *Client) AdminCreateUser(ctx context.Context, req AdminCreateUserRequest) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/users", nil, req, &u)
	return u, err
}

// DeleteUser deletes an account: it becomes a tombstone ("deleted user"),
// its messages stay.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/admin/users/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// UserSessions lists an account's sessions.
func (c *Client) UserSessions(ctx context.Context, id string) ([]parley.Session, error) {
	var out struct {
		Sessions []parley.Session `json:"sessions"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/admin/users/"+url.PathEscape(id)+"/sessions", nil, nil, &out)
	return out.Sessions, err
}

// ResetPassword sets an account's password (password "" generates one,
// returned) and ends every session of theirs.
func (c *Client) ResetPassword(ctx context.Context, id, password string) (string, error) {
	var out struct {
		Password string `json:"password"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/users/"+url.PathEscape(id)+"/password", nil,
		map[string]string{"password": password}, &out)
	return out.Password, err
}

// SetRole promotes (admin) or demotes (user) an account.
func (c *Client) SetRole(ctx context.Context, id string, role parley.UserRole) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/users/"+url.PathEscape(id)+"/role", nil,
		map[string]parley.UserRole{"role": role}, &u)
	return u, err
}

// CreateInvite makes an invite code.
func (c *Client) CreateInvite(ctx context.Context, req CreateInviteRequest) (parley.Invite, error) {
	var inv parley.Invite
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/invites", nil, map[string]any{
		"max_uses": req.MaxUses, "expires_in_seconds": int64(req.ExpiresIn / time.Second), "note": req.Note,
		"org_id": req.OrgID}, &inv)
	return inv, err
}

// Invites lists every invite, newest first.
func (c *Client) Invites(ctx context.Context) ([]parley.Invite, error) {
	var out struct {
		Invites []parley.Invite `json:"invites"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/admin/invites", nil, nil, &out)
	return out.Invites, err
}

// RevokeInvite stops an invite.
func (c *Client) RevokeInvite(ctx context.Context, id string) (parley.Invite, error) {
	var inv parley.Invite
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/invites/"+url.PathEscape(id)+"/revoke", nil, nil, &inv)
	return inv, err
}

// Audit returns audit entries newest first: of one target if targetID is
// set, older than before if set; next is the before cursor of the next page.
func (c *Client) Audit(ctx context.Context, targetID, before string, limit int) (entries []parley.AuditEntry, next string, err error) {
	q := url.Values{}
	if targetID != "" {
		q.Set("target_id", targetID)
	}
	if before != "" {
		q.Set("before", before)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Entries    []parley.AuditEntry `json:"entries"`
		NextBefore string              `json:"next_before"`
	}
	_, err = c.do(ctx, http.MethodGet, "/api/v1/admin/audit", q, nil, &out)
	return out.Entries, out.NextBefore, err
}
