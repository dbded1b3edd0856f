package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// REST is the generator's small HTTP client for setup (users,
// conversations) and the history workload. It goes through the same
// source-spreading Dialer as the WebSockets, so per-address limits see many
// clients, as they would in production.
type REST struct {
	base string
	hc   *http.Client
}

// NewREST returns a client for base (e.g. "http://127.0.0.1:8080").
func NewREST(base string, d *Dialer, maxConns int) *REST {
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &REST{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// APIError is a non-2xx answer.
type APIError struct {
	Status int
	Code   string
	Body   string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, strings.TrimSpace(e.Body))
}

// Do sends one request; in (if non-nil) is JSON-encoded, out (if non-nil)
// receives the JSON answer. Non-2xx answers become *APIError.
func (r *REST) Do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "parley-bench")
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode, Body: string(b)}
		var eb struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &eb) == nil {
			e.Code = eb.Error.Code
		}
		return e
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Close releases idle connections.
func (r *REST) Close() { r.hc.CloseIdleConnections() }
