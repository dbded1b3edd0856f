// Package client is Parley's Go SDK: the REST API and (in realtime.go) the
// WebSocket real-time API. It imports only the root package, so every error it
// returns is a *parley.Error with the server's stable code.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// Client talks to one Parley server (or a load balancer in front of many).
// It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
	ua   string

	mu    sync.RWMutex
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send requests through hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithToken sets the bearer token from an earlier sign-in.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithUserAgent sets the User-Agent, which the server records per session.
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = ua } }

// New returns a client for the server at baseURL (for example
// "http://localhost:8080").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base: strings.TrimRight(baseURL, "/"),
		http: &http.Client{Timeout: 60 * time.Second},
		ua:   "parley-go-sdk",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the server URL the client was created with.
func (c *Client) BaseURL() string { return c.base }

// Token returns the current bearer token ("" when signed out).
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetToken replaces the bearer token.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// do sends a JSON request and decodes a JSON response into out (if non-nil).
// A non-2xx response becomes the server's *parley.Error; a transport failure
// becomes CodeUnavailable. It returns the HTTP status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	if in == nil {
		return c.send(ctx, method, path, query, nil, 0, "", out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return 0, parley.Invalid("", "encode request: %v", err)
	}
	return c.send(ctx, method, path, query, bytes.NewReader(b), int64(len(b)), "application/json", out)
}

// send is the one request path of the SDK: body (size bytes, -1 if unknown:
// sent chunked) with the given content type, bearer token and user agent; a
// JSON answer decoded into out (if non-nil); error bodies mapped back to
// *parley.Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body io.Reader, size int64,
	contentType string, out any) (int, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, parley.Invalid("", "build request: %v", err)
	}
	if body != nil && size >= 0 {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if t := c.Token(); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &parley.Error{Code: parley.CodeUnavailable, Message: "request failed: " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, decodeError(resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, &parley.Error{Code: parley.CodeInternal, Message: "decode response: " + err.Error(), Err: err}
		}
	}
	return resp.StatusCode, nil
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb parley.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" {
		return &parley.Error{Code: parley.CodeForStatus(resp.StatusCode),
			Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))}
	}
	e := eb.Error.Err()
	if e.RetryAfter == 0 {
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(ra) * time.Second
		}
	}
	return e
}
