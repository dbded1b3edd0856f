package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
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

// ReportMessage reports a message of convID to its moderators.
func (c *Client) ReportMessage(ctx context.Context, convID string, seq int64, reason string) (parley.Report, error) {
	var out parley.Report
	_, err := c.do(ctx, http.MethodPost, "/api/v1/reports", nil,
		map[string]any{"conversation_id": convID, "seq": seq, "reason": reason}, &out)
	return out, err
}

// ReportUser reports a user to the server admins.
func (c *Client) ReportUser(ctx context.Context, userID, reason string) (parley.Report, error) {
	var out parley.Report
	_, err := c.do(ctx, http.MethodPost, "/api/v1/reports", nil, map[string]any{"user_id": userID, "reason": reason}, &out)
	return out, err
}

// ReportsQuery selects a page of the reports queue.
type ReportsQuery struct {
	Status         parley.ReportStatus
	ConversationID string
	Before         string
	Limit          int
}

// Reports returns a page of the reports queue and the Before of the next
// page ("" at the end).
func (c *Client) Reports(ctx context.Context, q ReportsQuery) ([]parley.Report, string, error) {
	v := url.Values{}
	for k, s := range map[string]string{"status": string(q.Status), "conversation_id": q.ConversationID, "before": q.Before} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Reports    []parley.Report `json:"reports"`
		NextBefore string          `json:"next_before"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/reports", v, nil, &out)
	return out.Reports, out.NextBefore, err
}

// MyReports lists the caller's reports with their outcome.
func (c *Client) MyReports(ctx context.Context) ([]parley.Report, error) {
	var out struct {
		Reports []parley.Report `json:"reports"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/reports/mine", nil, nil, &out)
	return out.Reports, err
}

// ResolveReport acts on a report: dismiss, delete_message, mute (for d) or ban.
func (c *Client) ResolveReport(ctx context.Context, id string, action parley.ReportAction, d time.Duration, note string) (parley.Report, error) {
	var out parley.Report
	body := map[string]any{"action": action, "note": note}
	if d > 0 {
		body["duration_seconds"] = int64(d / time.Second)
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/reports/"+url.PathEscape(id)+"/resolve", nil, body, &out)
	return out, err
}

// AuditQuery returns audit entries matching q, newest first, and the
// Before of the next page (admins). Zero fields of q match all.
func (c *Client) AuditQuery(ctx context.Context, q parley.AuditQuery) ([]parley.AuditEntry, string, error) {
	v := url.Values{}
	for k, s := range map[string]string{"target_id": q.TargetID, "actor_id": q.ActorID, "conversation_id": q.ConversationID,
		"action": q.Action, "before": q.Before} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Entries    []parley.AuditEntry `json:"entries"`
		NextBefore string              `json:"next_before"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/admin/audit", v, nil, &out)
	return out.Entries, out.NextBefore, err
}
