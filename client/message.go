package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-chat/parley"
)

// SendRequest is one message to send. Keep ClientMsgID when retrying: the
// server stores the message once and answers a resend with the original.
// Leave it empty to have Send generate one (parley.NewID, which also keeps
// the server's idempotency index compact).
type SendRequest struct {
	ClientMsgID string `json:"client_msg_id"`
	Body        string `json:"body"`
	ReplyTo     int64  `json:"reply_to,omitempty"`
	// AttachmentIDs are files uploaded with Upload (attachment.go) and not
	// sent yet; with at least one, Body may be empty.
	AttachmentIDs []string `json:"attachment_ids,omitempty"`
	// E2EE is the envelope of a message to an encrypted conversation (Body
	// empty); Session.SendEncrypted builds it.
	E2EE json.RawMessage `json:"e2ee,omitempty"`
}

// HistoryQuery selects a page of history: Before > 0 gives the messages
// before that seq, newest first; Latest gives the newest page, newest first
// (what a chat client shows on opening a conversation); otherwise those
// after After (the zero query: from the start), oldest first.
type HistoryQuery struct {
	Before int64
	After  int64
	Latest bool // the newest page; Before and After must be 0
	Limit  int  // 0: server default (50); at most 200
}

func msgPath(convID string, seq int64, rest ...string) string {
	return convPath(convID, append([]string{"messages", strconv.FormatInt(seq, 10)}, rest...)...)
}

// Send posts a message and returns it once it is durably stored. created
// is false when the server already had a message with this ClientMsgID
// from the caller (the original is returned).
func (c *Client) Send(ctx context.Context, conversationID string, req SendRequest) (parley.Message, bool, error) {
	if req.ClientMsgID == "" {
		req.ClientMsgID = parley.NewID()
	}
	var out parley.Message
	status, err := c.do(ctx, http.MethodPost, convPath(conversationID, "messages"), nil, req, &out)
	return out, status == http.StatusCreated, err
}

// History reads a page of a conversation's history.
func (c *Client) History(ctx context.Context, conversationID string, q HistoryQuery) ([]parley.Message, error) {
	v := url.Values{}
	switch {
	case q.Latest && q.Before == 0 && q.After == 0: // no cursor: the newest page
	case q.Before != 0:
		v.Set("before", strconv.FormatInt(q.Before, 10))
		if q.After != 0 {
			v.Set("after", strconv.FormatInt(q.After, 10))
		}
	default:
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Messages []parley.Message `json:"messages"`
	}
	_, err := c.do(ctx, http.MethodGet, convPath(conversationID, "messages"), v, nil, &out)
	return out.Messages, err
}

// Message returns one message.
func (c *Client) Message(ctx context.Context, conversationID string, seq int64) (parley.Message, error) {
	var out parley.Message
	_, err := c.do(ctx, http.MethodGet, msgPath(conversationID, seq), nil, nil, &out)
	return out, err
}

// EditMessage replaces the body of the caller's own message.
func (c *Client) EditMessage(ctx context.Context, conversationID string, seq int64, body string) (parley.Message, error) {
	var out parley.Message
	_, err := c.do(ctx, http.MethodPatch, msgPath(conversationID, seq), nil, map[string]string{"body": body}, &out)
	return out, err
}

// DeleteMessage deletes a message and returns its tombstone.
func (c *Client) DeleteMessage(ctx context.Context, conversationID string, seq int64) (parley.Message, error) {
	var out parley.Message
	_, err := c.do(ctx, http.MethodDelete, msgPath(conversationID, seq), nil, nil, &out)
	return out, err
}

// MessageVersions returns the earlier bodies of an edited message, oldest first.
func (c *Client) MessageVersions(ctx context.Context, conversationID string, seq int64) ([]parley.MessageVersion, error) {
	var out struct {
		Versions []parley.MessageVersion `json:"versions"`
	}
	_, err := c.do(ctx, http.MethodGet, msgPath(conversationID, seq, "versions"), nil, nil, &out)
	return out.Versions, err
}

// React adds the caller's emoji reaction and returns the message's reactions.
func (c *Client) React(ctx context.Context, conversationID string, seq int64, emoji string) ([]parley.Reaction, error) {
	return c.reaction(ctx, http.MethodPut, conversationID, seq, emoji)
}

// Unreact removes the caller's emoji reaction and returns the message's reactions.
func (c *Client) Unreact(ctx context.Context, conversationID string, seq int64, emoji string) ([]parley.Reaction, error) {
	return c.reaction(ctx, http.MethodDelete, conversationID, seq, emoji)
}

func (c *Client) reaction(ctx context.Context, method, conversationID string, seq int64, emoji string) ([]parley.Reaction, error) {
	var out struct {
		Reactions []parley.Reaction `json:"reactions"`
	}
	_, err := c.do(ctx, method, msgPath(conversationID, seq, "reactions", url.PathEscape(emoji)), nil, nil, &out)
	return out.Reactions, err
}

// EditMessageE2EE replaces the envelope of the caller's message in an
// encrypted conversation.
func (c *Client) EditMessageE2EE(ctx context.Context, conversationID string, seq int64, env json.RawMessage) (parley.Message, error) {
	var out parley.Message
	_, err := c.do(ctx, http.MethodPatch, msgPath(conversationID, seq), nil, map[string]any{"body": "", "e2ee": env}, &out)
	return out, err
}
