package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-chat/parley"
)

// CreateConversationRequest is a new conversation. MemberIDs are the other
// members (the caller is always one); a direct conversation takes exactly one.
type CreateConversationRequest struct {
	Kind      parley.ConversationKind `json:"kind"`
	Title     string                  `json:"title,omitempty"`
	Topic     string                  `json:"topic,omitempty"`
	MemberIDs []string                `json:"member_ids,omitempty"`
	Public    bool                    `json:"public,omitempty"`
	Broadcast bool                    `json:"broadcast,omitempty"`
	// Encrypted: an end-to-end encrypted direct or group conversation.
	Encrypted bool `json:"encrypted,omitempty"`
}

// ConversationUpdate changes title, topic or avatar; nil fields stay.
type ConversationUpdate struct {
	Title     *string `json:"title,omitempty"`
	Topic     *string `json:"topic,omitempty"`
	AvatarURL *string `json:"avatar_url,omitempty"`
}

// MemberUpdate changes a membership; nil fields stay. Muted, Pinned and
// Archived apply to one's own membership only.
type MemberUpdate struct {
	Role     *parley.MemberRole `json:"role,omitempty"`
	Muted    *bool              `json:"muted,omitempty"`
	Pinned   *bool              `json:"pinned,omitempty"`
	Archived *bool              `json:"archived,omitempty"`
}

// Bool returns a pointer to b, for update fields.
func Bool(b bool) *bool { return &b }

// Role returns a pointer to r, for MemberUpdate.
func Role(r parley.MemberRole) *parley.MemberRole { return &r }

// ConversationPage is one page of the caller's conversation list.
type ConversationPage struct {
	Conversations []parley.ConversationEntry `json:"conversations"`
	NextCursor    string                     `json:"next_cursor,omitempty"` // "" on the last page
}

// ChannelPage is one page of public channels.
type ChannelPage struct {
	Channels   []parley.Conversation `json:"channels"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

// MemberPage is one page of members.
type MemberPage struct {
	Members    []parley.Member `json:"members"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

func convPath(id string, rest ...string) string {
	p := "/api/v1/conversations/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func pageQuery(cursor string, limit int) url.Values {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// CreateConversation creates a conversation. created is false when an
// existing direct conversation between the two users was returned.
func (c *Client) CreateConversation(ctx context.Context, req CreateConversationRequest) (parley.Conversation, bool, error) {
	var out parley.Conversation
	status, err := c.do(ctx, http.MethodPost, "/api/v1/conversations", nil, req, &out)
	return out, status == http.StatusCreated, err
}

// Conversation returns one conversation (ConversationEntry has the
// caller's membership and unread count too).
func (c *Client) Conversation(ctx context.Context, id string) (parley.Conversation, error) {
	e, err := c.ConversationEntry(ctx, id)
	return e.Conversation, err
}

// ConversationEntry returns one conversation as the caller's conversation
// list shows it: own membership (Self: read_seq, delivered_seq, muted,
// pinned, archived), newest message and unread count. For a public channel
// the caller has not joined, only the Conversation part is set
// (Self.UserID is "").
func (c *Client) ConversationEntry(ctx context.Context, id string) (parley.ConversationEntry, error) {
	var out parley.ConversationEntry
	_, err := c.do(ctx, http.MethodGet, convPath(id), nil, nil, &out)
	return out, err
}

// Conversations lists the caller's conversations, most recently active first.
func (c *Client) Conversations(ctx context.Context, cursor string, limit int) (ConversationPage, error) {
	var out ConversationPage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/conversations", pageQuery(cursor, limit), nil, &out)
	return out, err
}

// Channels browses public channels whose title contains query.
func (c *Client) Channels(ctx context.Context, query, cursor string, limit int) (ChannelPage, error) {
	q := pageQuery(cursor, limit)
	if query != "" {
		q.Set("q", query)
	}
	var out ChannelPage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/channels", q, nil, &out)
	return out, err
}

// UpdateConversation changes title, topic or avatar (owners and admins).
func (c *Client) UpdateConversation(ctx context.Context, id string, u ConversationUpdate) (parley.Conversation, error) {
	var out parley.Conversation
	_, err := c.do(ctx, http.MethodPatch, convPath(id), nil, u, &out)
	return out, err
}

// Members lists a conversation's members, ordered by user id.
func (c *Client) Members(ctx context.Context, id, cursor string, limit int) (MemberPage, error) {
	var out MemberPage
	_, err := c.do(ctx, http.MethodGet, convPath(id, "members"), pageQuery(cursor, limit), nil, &out)
	return out, err
}

// AddMembers adds users (owners and admins), or joins a public channel when
// userIDs is just the caller's id. It returns the members actually added.
func (c *Client) AddMembers(ctx context.Context, id string, userIDs ...string) ([]parley.Member, error) {
	var out MemberPage
	_, err := c.do(ctx, http.MethodPost, convPath(id, "members"), nil, map[string][]string{"user_ids": userIDs}, &out)
	return out.Members, err
}

// UpdateMember changes a membership; userID "me" is the caller.
func (c *Client) UpdateMember(ctx context.Context, id, userID string, u MemberUpdate) (parley.Member, error) {
	var out parley.Member
	_, err := c.do(ctx, http.MethodPatch, convPath(id, "members", url.PathEscape(userID)), nil, u, &out)
	return out, err
}

// RemoveMember removes a member; userID "me" (or the caller's id) leaves.
func (c *Client) RemoveMember(ctx context.Context, id, userID string) error {
	_, err := c.do(ctx, http.MethodDelete, convPath(id, "members", url.PathEscape(userID)), nil, nil, nil)
	return err
}

// Leave leaves a group or channel.
func (c *Client) Leave(ctx context.Context, id string) error { return c.RemoveMember(ctx, id, "me") }

// Retention returns a conversation's retention policy (docs/data.md).
func (c *Client) Retention(ctx context.Context, id string) (parley.RetentionPolicy, error) {
	var p parley.RetentionPolicy
	_, err := c.do(ctx, http.MethodGet, convPath(id, "retention"), nil, nil, &p)
	return p, err
}

// SetRetention makes a conversation keep its messages days days (0: forever).
func (c *Client) SetRetention(ctx context.Context, id string, days int) (parley.RetentionPolicy, error) {
	var p parley.RetentionPolicy
	_, err := c.do(ctx, http.MethodPut, convPath(id, "retention"), nil, map[string]int{"days": days}, &p)
	return p, err
}

// SetLegalHold puts a conversation on legal hold or lifts it (admins only).
func (c *Client) SetLegalHold(ctx context.Context, id string, hold bool) (parley.RetentionPolicy, error) {
	var p parley.RetentionPolicy
	_, err := c.do(ctx, http.MethodPut, "/api/v1/admin/conversations/"+url.PathEscape(id)+"/legal-hold", nil,
		map[string]bool{"hold": hold}, &p)
	return p, err
}
