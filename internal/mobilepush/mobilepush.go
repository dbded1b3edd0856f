// Package mobilepush sends notifications to mobile apps through Firebase
// Cloud Messaging (the HTTP v1 API, OAuth 2.0 service-account credentials)
// and the Apple Push Notification service (HTTP/2, token-based
// authentication with a .p8 key). Both are Senders; the server picks one by
// a device's platform. Nothing here knows Parley's rules: a Notification is
// already what the device should show.
package mobilepush

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Notification is what a device shows and the data the app gets with it.
type Notification struct {
	Title       string
	Body        string
	Badge       int               // the app icon's count (unread messages)
	CollapseKey string            // a newer notification with the same key replaces an older one
	Data        map[string]string // for the app (conversation id, seq…)
	High        bool              // deliver at once (mentions, direct messages)
}

// Sender sends to one device token.
type Sender interface {
	Send(ctx context.Context, token string, n Notification) error
}

// ErrGone means the push service says the token is no longer valid
// (uninstalled app, token from another project): delete the device.
var ErrGone = errors.New("mobilepush: device token no longer valid")

// StatusError is a refusal other than ErrGone.
type StatusError struct {
	Service   string
	Status    int
	Reason    string
	Retryable bool // 429, 5xx, an expired credential that was refreshed
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("mobilepush: %s answered %d %s", e.Service, e.Status, e.Reason)
}

func statusError(service string, status int, reason string) *StatusError {
	return &StatusError{Service: service, Status: status, Reason: reason,
		Retryable: status == http.StatusTooManyRequests || status >= 500}
}

// httpClient is the default client: bounded, no redirects.
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// parsePKCS8PEM decodes the first PEM block of data as a PKCS #8 private
// key (both vendors hand out keys in that form).
func parsePKCS8PEM(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	return x509.ParsePKCS8PrivateKey(block.Bytes)
}
