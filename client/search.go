package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-chat/parley"
)

// SearchPage is one page of message search results.
type SearchPage struct {
	Hits       []parley.SearchHit `json:"hits"`
	NextCursor string             `json:"next_cursor,omitempty"` // "" on the last page
}

// SearchQuery is a message search: Q in the query syntax of docs/search.md,
// Order "" (recent) or "relevance", Cursor the NextCursor of the previous
// page, Limit 0 for the server's default.
type SearchQuery struct {
	Q      string
	Order  string
	Cursor string
	Limit  int
}

// SearchMessages searches the messages of the caller's conversations.
func (c *Client) SearchMessages(ctx context.Context, q SearchQuery) (SearchPage, error) {
	v := url.Values{"q": {q.Q}}
	if q.Order != "" {
		v.Set("order", q.Order)
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out SearchPage
	_, err := c.do(ctx, http.MethodGet, "/api/v1/search/messages", v, nil, &out)
	return out, err
}

// MessageContext returns up to limit messages around seq, oldest first
// (limit 0: the server's default), for jumping to a message.
func (c *Client) MessageContext(ctx context.Context, conversationID string, seq int64, limit int) ([]parley.Message, error) {
	v := url.Values{}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Messages []parley.Message `json:"messages"`
	}
	_, err := c.do(ctx, http.MethodGet, msgPath(conversationID, seq)+"/context", v, nil, &out)
	return out.Messages, err
}
