package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-chat/parley"
)

// ContactPage is one page of contacts.
type ContactPage struct {
	Contacts   []parley.Contact `json:"contacts"`
	NextCursor string           `json:"next_cursor,omitempty"` // "" on the last page
}

// ContactRequests are the caller's pending requests.
type ContactRequests struct {
	Incoming []parley.ContactRequest `json:"incoming"`
	Outgoing []parley.ContactRequest `json:"outgoing"`
}

// FindPeople finds users by username or display name (limit 0: default).
func (c *Client) FindPeople(ctx context.Context, q string, limit int) ([]parley.User, error) {
	v := url.Values{"q": {q}}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Users []parley.User `json:"users"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/people", v, nil, &out)
	return out.Users, err
}

// RequestContact asks userID to become a contact; accepted is true when
// they had asked the caller already (contacts now).
func (c *Client) RequestContact(ctx context.Context, userID string) (accepted bool, err error) {
	var out struct {
		Accepted bool `json:"accepted"`
	}
	_, err = c.do(ctx, http.MethodPost, "/api/v1/contacts/requests", nil, map[string]string{"user_id": userID}, &out)
	return out.Accepted, err
}

// AnswerContactRequest accepts or declines fromID's request.
func (c *Client) AnswerContactRequest(ctx context.Context, fromID string, accept bool) error {
	verb := "decline"
	if accept {
		verb = "accept"
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/contacts/requests/"+url.PathEscape(fromID)+"/"+verb, nil, nil, nil)
	return err
}

// CancelContactRequest withdraws the caller's request to toID.
func (c *Client) CancelContactRequest(ctx context.Context, toID string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/contacts/requests/"+url.PathEscape(toID), nil, nil, nil)
	return err
}

// RemoveContact ends a contact.
func (c *Client) RemoveContact(ctx context.Context, userID string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/contacts/"+url.PathEscape(userID), nil, nil, nil)
	return err
}

// ContactRequests lists the caller's pending requests.
func (c *Client) ContactRequests(ctx context.Context) (ContactRequests, error) {
	var out ContactRequests
	_, err := c.do(ctx, http.MethodGet, "/api/v1/contacts/requests", nil, nil, &out)
	return out, err
}

// Contacts returns a page of the caller's contacts.
func (c *Client) Contacts(ctx context.Context, cursor string, limit int) (ContactPage, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out ContactPage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/contacts", v, nil, &out)
	return out, err
}

// ContactSuggestions returns users the caller shares conversations with.
func (c *Client) ContactSuggestions(ctx context.Context) ([]parley.ContactSuggestion, error) {
	var out struct {
		Suggestions []parley.ContactSuggestion `json:"suggestions"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/contacts/suggestions", nil, nil, &out)
	return out.Suggestions, err
}

// Privacy returns the caller's privacy settings.
func (c *Client) Privacy(ctx context.Context) (parley.PrivacySettings, error) {
	var out parley.PrivacySettings
	_, err := c.do(ctx, http.MethodGet, "/api/v1/me/privacy", nil, nil, &out)
	return out, err
}

// SetPrivacy replaces the caller's privacy settings.
func (c *Client) SetPrivacy(ctx context.Context, p parley.PrivacySettings) (parley.PrivacySettings, error) {
	var out parley.PrivacySettings
	_, err := c.do(ctx, http.MethodPut, "/api/v1/me/privacy", nil, p, &out)
	return out, err
}
