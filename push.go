package parley

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// PushSubscription is one browser's Web Push subscription (RFC 8030): the
// push service URL to POST to and the keys the payload is encrypted for
// (RFC 8291), as PushSubscription.toJSON() gives them.
type PushSubscription struct {
	ID        string    `json:"id"`
	UserID    string    `json:"-"`
	Endpoint  string    `json:"endpoint"`
	P256DH    string    `json:"p256dh"` // the browser's P-256 public key, base64url (65 bytes uncompressed)
	Auth      string    `json:"auth"`   // the 16-byte authentication secret, base64url
	CreatedAt time.Time `json:"created_at"`
}

// Push subscription limits.
const (
	MaxPushEndpointLen       = 2048
	DefaultPushSubscriptions = 10 // per user; the oldest is dropped beyond it
)

// PushStore keeps Web Push subscriptions and server-wide secrets.
type PushStore interface {
	// AddPushSubscription stores s (ID and CreatedAt set by the caller). An
	// endpoint already stored is replaced, whoever had it (a browser profile
	// that changed account). If the user then has more than max
	// subscriptions, the oldest are deleted. CodeNotFound for an unknown user.
	AddPushSubscription(ctx context.Context, s PushSubscription, max int) (PushSubscription, error)
	// PushSubscriptions lists the user's subscriptions, oldest first.
	PushSubscriptions(ctx context.Context, userID string) ([]PushSubscription, error)
	// DeletePushSubscription deletes one of the user's subscriptions.
	// CodeNotFound if the user has none with that id.
	DeletePushSubscription(ctx context.Context, userID, id string) error
	// DeletePushEndpoint deletes the subscription with that endpoint, if
	// any (the push service said it is gone).
	DeletePushEndpoint(ctx context.Context, endpoint string) error
	// ServerSecret returns the secret stored under name, storing value
	// first if there is none: concurrent first callers (several nodes
	// starting at once) all get the one value that was stored.
	ServerSecret(ctx context.Context, name, value string) (string, error)
}

// CheckPushSubscription validates a subscription a client sends: the
// endpoint (CheckPushEndpoint) and keys that decode to a P-256 point and a
// 16-byte secret. Errors are CodeInvalid or CodeTooLarge naming the field.
func CheckPushSubscription(s PushSubscription, allowInsecure bool) error {
	if err := CheckPushEndpoint(s.Endpoint, allowInsecure); err != nil {
		return err
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s.P256DH, "="))
	if err != nil || len(key) != 65 {
		return Invalid("keys.p256dh", "keys.p256dh must be a base64url P-256 public key")
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		return Invalid("keys.p256dh", "keys.p256dh is not a point on P-256")
	}
	auth, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s.Auth, "="))
	if err != nil || len(auth) != 16 {
		return Invalid("keys.auth", "keys.auth must be 16 bytes, base64url")
	}
	return nil
}

// CheckPushEndpoint refuses endpoints a server must not be made to POST to:
// anything but https, credentials or a fragment in the URL, and hosts that
// name this machine or a private network (loopback, private, link-local,
// unique-local, unspecified, multicast, CGNAT addresses; "localhost" and
// names under .localhost, .local, .internal). Names are checked again when
// they resolve (the Web Push sender refuses to dial such addresses).
// allowInsecure admits http and such hosts, for tests against local fakes.
func CheckPushEndpoint(raw string, allowInsecure bool) error {
	const field = "endpoint"
	if raw == "" {
		return Invalid(field, "endpoint is required")
	}
	if len(raw) > MaxPushEndpointLen {
		return TooLarge(field, "endpoint must be at most %d bytes", MaxPushEndpointLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Invalid(field, "endpoint must be an absolute URL")
	}
	if u.User != nil || u.Fragment != "" {
		return Invalid(field, "endpoint must not carry credentials or a fragment")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	default:
		return Invalid(field, "endpoint must be an https URL")
	}
	if allowInsecure {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if addr, err := netip.ParseAddr(host); err == nil {
		if !PublicAddr(addr) {
			return Invalid(field, "endpoint must not point to a private or local address")
		}
		return nil
	}
	if host == "localhost" || !strings.Contains(host, ".") {
		return Invalid(field, "endpoint must name a public host")
	}
	for _, suffix := range []string{".localhost", ".local", ".internal", ".lan", ".home.arpa"} {
		if strings.HasSuffix(host, suffix) {
			return Invalid(field, "endpoint must name a public host")
		}
	}
	return nil
}

// cgnat is the shared address space of RFC 6598, not covered by IsPrivate.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddr reports whether addr is a global unicast address outside the
// private, loopback, link-local and shared ranges.
func PublicAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsGlobalUnicast() && !addr.IsPrivate() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast() &&
		!cgnat.Contains(addr)
}
