package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/parley-chat/parley"
)

// Blocks lists the users the caller blocks, oldest first.
func (c *Client) Blocks(ctx context.Context) ([]parley.Block, error) {
	var out struct {
		Blocks []parley.Block `json:"blocks"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/blocks", nil, nil, &out)
	return out.Blocks, err
}

// Block blocks userID (idempotent).
func (c *Client) Block(ctx context.Context, userID string) (parley.Block, error) {
	var out parley.Block
	_, err := c.do(ctx, http.MethodPut, "/api/v1/blocks/"+url.PathEscape(userID), nil, nil, &out)
	return out, err
}

// Unblock lifts the caller's block of userID.
func (c *Client) Unblock(ctx context.Context, userID string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/blocks/"+url.PathEscape(userID), nil, nil, nil)
	return err
}

type moderationRequest struct {
	UserID          string `json:"user_id"`
	Reason          string `json:"reason,omitempty"`
	DurationSeconds int64  `json:"duration_seconds,omitempty"`
}

func modPath(convID, rest string) string {
	return "/api/v1/conversations/" + url.PathEscape(convID) + rest
}

// Mute stops userID posting in convID for d (whole seconds) and returns
// when the mute ends. Owners and admins.
func (c *Client) Mute(ctx context.Context, convID, userID string, d time.Duration, reason string) (time.Time, error) {
	var out struct {
		MutedUntil time.Time `json:"muted_until"`
	}
	_, err := c.do(ctx, http.MethodPost, modPath(convID, "/moderation/mute"), nil,
		moderationRequest{UserID: userID, Reason: reason, DurationSeconds: int64(d / time.Second)}, &out)
	return out.MutedUntil, err
}

// Unmute ends userID's mute in convID.
func (c *Client) Unmute(ctx context.Context, convID, userID, reason string) error {
	_, err := c.do(ctx, http.MethodPost, modPath(convID, "/moderation/unmute"), nil, moderationRequest{UserID: userID, Reason: reason}, nil)
	return err
}

// Kick removes userID from convID (they may come back).
func (c *Client) Kick(ctx context.Context, convID, userID, reason string) error {
	_, err := c.do(ctx, http.MethodPost, modPath(convID, "/moderation/kick"), nil, moderationRequest{UserID: userID, Reason: reason}, nil)
	return err
}

// Ban removes userID from convID and keeps them out until Unban.
func (c *Client) Ban(ctx context.Context, convID, userID, reason string) (parley.Ban, error) {
	var out parley.Ban
	_, err := c.do(ctx, http.MethodPost, modPath(convID, "/bans"), nil, moderationRequest{UserID: userID, Reason: reason}, &out)
	return out, err
}

// Unban lifts userID's ban from convID.
func (c *Client) Unban(ctx context.Context, convID, userID, reason string) error {
	var q url.Values
	if reason != "" {
		q = url.Values{"reason": {reason}}
	}
	_, err := c.do(ctx, http.MethodDelete, modPath(convID, "/bans/"+url.PathEscape(userID)), q, nil, nil)
	return err
}

// Bans lists convID's bans (owners and admins).
func (c *Client) Bans(ctx context.Context, convID string) ([]parley.Ban, error) {
	var out struct {
		Bans []parley.Ban `json:"bans"`
	}
	_, err := c.do(ctx, http.MethodGet, modPath(convID, "/bans"), nil, nil, &out)
	return out.Bans, err
}

// Rules returns convID's rules.
func (c *Client) Rules(ctx context.Context, convID string) (parley.ConversationRules, error) {
	var out parley.ConversationRules
	_, err := c.do(ctx, http.MethodGet, modPath(convID, "/rules"), nil, nil, &out)
	return out, err
}

// SetRules replaces convID's rules (owners and admins).
func (c *Client) SetRules(ctx context.Context, convID string, r parley.ConversationRules) (parley.ConversationRules, error) {
	var out parley.ConversationRules
	_, err := c.do(ctx, http.MethodPut, modPath(convID, "/rules"), nil, r, &out)
	return out, err
}

// ServerContentRules returns the server-wide deny lists (admins).
func (c *Client) ServerContentRules(ctx context.Context) (parley.ConversationRules, error) {
	var out parley.ConversationRules
	_, err := c.do(ctx, http.MethodGet, "/api/v1/admin/content-rules", nil, nil, &out)
	return out, err
}

// SetServerContentRules replaces the server-wide deny lists (admins).
func (c *Client) SetServerContentRules(ctx context.Context, r parley.ConversationRules) (parley.ConversationRules, error) {
	var out parley.ConversationRules
	_, err := c.do(ctx, http.MethodPut, "/api/v1/admin/content-rules", nil, r, &out)
	return out, err
}
