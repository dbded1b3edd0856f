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

// PushPlatform is a mobile push service.
type PushPlatform string

const (
	PlatformFCM  PushPlatform = "fcm"  // Firebase Cloud Messaging (HTTP v1): Android, and iOS through Firebase
	PlatformAPNs PushPlatform = "apns" // Apple Push Notification service
)

// PushDevice is a mobile app's registration with its platform's push
// service: the device token the app got from FCM or APNs.
type PushDevice struct {
	ID        string       `json:"id"`
	UserID    string       `json:"-"`
	Platform  PushPlatform `json:"platform"`
	Token     string       `json:"token"`
	CreatedAt time.Time    `json:"created_at"`
}

// MaxDeviceTokenLen bounds a device token (FCM tokens are ~160 bytes, APNs
// tokens 64 hex digits).
const MaxDeviceTokenLen = 4096

// CheckPushDevice validates a device a client registers.
func CheckPushDevice(d PushDevice) error {
	if len(d.Token) > MaxDeviceTokenLen {
		return TooLarge("token", "token must be at most %d bytes", MaxDeviceTokenLen)
	}
	switch d.Platform {
	case PlatformAPNs:
		if len(d.Token) < 64 || len(d.Token)%2 != 0 || strings.Trim(strings.ToLower(d.Token), "0123456789abcdef") != "" {
			return Invalid("token", "an APNs device token is hexadecimal (64 digits or more)")
		}
	case PlatformFCM:
		if len(d.Token) < 32 || strings.Trim(d.Token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:") != "" {
			return Invalid("token", "an FCM registration token is letters, digits, '-', '_' and ':' (32 or more)")
		}
	default:
		return Invalid("platform", "platform must be fcm or apns")
	}
	return nil
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
	// AddPushDevice stores d (ID and CreatedAt set by the caller), like
	// AddPushSubscription: the same (platform, token) is replaced whoever
	// had it, and beyond max devices per user the oldest go.
	AddPushDevice(ctx context.Context, d PushDevice, max int) (PushDevice, error)
	// PushDevices lists the user's devices, oldest first.
	PushDevices(ctx context.Context, userID string) ([]PushDevice, error)
	// DeletePushDevice deletes one of the user's devices. CodeNotFound if
	// the user has none with that id.
	DeletePushDevice(ctx context.Context, userID, id string) error
	// DeletePushToken deletes the device with that token, if any (its push
	// service said the token is no longer valid).
	DeletePushToken(ctx context.Context, platform PushPlatform, token string) error
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
