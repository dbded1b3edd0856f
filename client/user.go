package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
)

// RegisterRequest is a new account. DisplayName and Email are optional.
type RegisterRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	// Invite is an invite code from an admin (needed on an invite-only
	// server); Setup is the one-time setup token printed at the first start
	// of a server with no admin (the account becomes admin).
	Invite string `json:"invite,omitempty"`
	Setup  string `json:"setup,omitempty"`
	// Organisation is the slug of the organisation to join (default: the
	// invite's, else the server's default organisation).
	Organisation string `json:"organisation,omitempty"`
}

// AuthResponse is the answer to Register and Login.
type AuthResponse struct {
	User  parley.User `json:"user"`
	Token string      `json:"token"`
}

// ProfileUpdate changes the caller's profile; nil fields stay unchanged.
type ProfileUpdate struct {
	DisplayName *string       `json:"display_name,omitempty"`
	StatusText  *string       `json:"status_text,omitempty"`
	Email       *string       `json:"email,omitempty"` // "" removes it
	Settings    *SettingsEdit `json:"settings,omitempty"`
}

// SettingsEdit changes settings; nil fields stay unchanged.
type SettingsEdit struct {
	Theme *string `json:"theme,omitempty"` // system, light or dark
}

// String returns a pointer to s, for ProfileUpdate fields.
func String(s string) *string { return &s }

// UserPage is one page of a user search.
type UserPage struct {
	Users     []parley.User `json:"users"`
	NextAfter string        `json:"next_after,omitempty"` // "" on the last page
}

// Register creates an account, signs in and keeps the new token. On a
// server that requires a verified email address (202) the account exists but
// the answer has no token: follow the mailed link, then Login.
//
// On a server that requires two-factor sign-in the account is created but
// not signed in: the error is a *TwoFactorRequired (Kind "setup").
func (c *Client) Register(ctx context.Context, req RegisterRequest) (AuthResponse, error) {
	return c.signIn(ctx, "/api/v1/auth/register", req)
}

// Login signs in and keeps the new token. A wrong username or password is
// CodeUnauthenticated; too many failures CodeRateLimited with RetryAfter.
// For an account with two-factor sign-in (or on a server that requires it)
// the error is a *TwoFactorRequired: finish with FinishSignIn.
func (c *Client) Login(ctx context.Context, username, password string) (AuthResponse, error) {
	in := map[string]string{"username": username, "password": password}
	return c.signIn(ctx, "/api/v1/auth/login", in)
}

// Logout revokes the current token and forgets it.
func (c *Client) Logout(ctx context.Context) error {
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}

// Me returns the signed-in user.
func (c *Client) Me(ctx context.Context) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil, &u)
	return u, err
}

// UpdateMe changes the signed-in user's profile and settings.
func (c *Client) UpdateMe(ctx context.Context, p ProfileUpdate) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPatch, "/api/v1/me", nil, p, &u)
	return u, err
}

// ChangePassword changes the password; every other session ends.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	in := map[string]string{"current_password": current, "new_password": next}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/me/password", nil, in, nil)
	return err
}

// Sessions lists the signed-in user's sessions, newest first.
func (c *Client) Sessions(ctx context.Context) ([]parley.Session, error) {
	var out struct {
		Sessions []parley.Session `json:"sessions"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/me/sessions", nil, nil, &out)
	return out.Sessions, err
}

// RevokeSession ends one of the signed-in user's sessions.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/me/sessions/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// SearchUsers finds users by username prefix. after is the NextAfter of the
// previous page ("" for the first); limit 0 means the server default (20).
func (c *Client) SearchUsers(ctx context.Context, prefix, after string, limit int) (UserPage, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out UserPage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/users", q, nil, &out)
	return out, err
}

// User returns one user by id.
func (c *Client) User(ctx context.Context, id string) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(id), nil, nil, &u)
	return u, err
}

// Users looks up to 100 users by id in one call (GET /api/v1/users?ids=…):
// those that exist, in the order of ids, each once; unknown ids are absent.
func (c *Client) Users(ctx context.Context, ids ...string) ([]parley.User, error) {
	var out UserPage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/users", url.Values{"ids": {strings.Join(ids, ",")}}, nil, &out)
	return out.Users, err
}

// DisableUser disables an account (admins only); its sessions end at once.
func (c *Client) DisableUser(ctx context.Context, id string) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/users/"+url.PathEscape(id)+"/disable", nil, nil, &u)
	return u, err
}

// EnableUser re-enables a disabled account (admins only).
func (c *Client) EnableUser(ctx context.Context, id string) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, "/api/v1/admin/users/"+url.PathEscape(id)+"/enable", nil, nil, &u)
	return u, err
}

// Export downloads the signed-in person's data as a zip (docs/data.md).
// Close Body; it streams as the server reads.
func (c *Client) Export(ctx context.Context) (*Download, error) {
	return c.fetch(ctx, "/api/v1/me/export", "", true)
}
