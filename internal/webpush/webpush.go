// Package webpush sends Web Push messages: the HTTP protocol of RFC 8030,
// payloads encrypted with the aes128gcm content coding of RFC 8291 (and
// RFC 8188), and VAPID sender identification of RFC 8292 (an ES256 JWT).
//
// It is written against the standard library (crypto/ecdh, crypto/hkdf,
// crypto/aes, crypto/ecdsa) because no maintained Web Push module was
// available from the module proxy here; the three RFCs are short and the
// tests check the result with an independent decryption.
package webpush

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-chat/parley"
)

var b64 = base64.RawURLEncoding

// Keys is a VAPID key pair (P-256).
type Keys struct {
	priv *ecdsa.PrivateKey
	// Public is the uncompressed public key, base64url: the
	// applicationServerKey browsers subscribe with.
	Public string
}

// GenerateKeys returns a new private key, encoded for ParseKeys.
func GenerateKeys() (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	d, err := k.Bytes()
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(d), nil
}

// ParseKeys decodes a private key made by GenerateKeys.
func ParseKeys(s string) (*Keys, error) {
	d, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("vapid key: %w", err)
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("vapid key: %w", err)
	}
	pub, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	return &Keys{priv: k, Public: b64.EncodeToString(pub)}, nil
}

// Authorization returns the VAPID Authorization header value for a request
// to endpoint: "vapid t=<JWT>, k=<public key>", the JWT (ES256) naming the
// endpoint's origin as audience, subject (a mailto: or https: URL of the
// operator) and exp.
func (k *Keys) Authorization(endpoint, subject string, exp time.Time) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	header := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))
	claims, err := json.Marshal(map[string]any{"aud": u.Scheme + "://" + u.Host, "exp": exp.Unix(), "sub": subject})
	if err != nil {
		return "", err
	}
	signing := header + "." + b64.EncodeToString(claims)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return "vapid t=" + signing + "." + b64.EncodeToString(sig) + ", k=" + k.Public, nil
}

// recordSize is the rs of the single aes128gcm record a payload is sent in.
const recordSize = 4096

// MaxPayload is the largest plaintext one push may carry (4096-byte record,
// less the 16-byte tag and the 1-byte delimiter; push services accept at
// least 4096 bytes of body, and the header takes 86).
const MaxPayload = 3993

// Encrypt encrypts plaintext for the subscription keys p256dh (the user
// agent's public key, 65 bytes) and auth (16 bytes) with the aes128gcm
// content coding of RFC 8291, using a fresh ephemeral key and salt from r.
func Encrypt(p256dh, auth, plaintext []byte, r io.Reader) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, fmt.Errorf("webpush: payload of %d bytes is over %d", len(plaintext), MaxPayload)
	}
	uaPub, err := ecdh.P256().NewPublicKey(p256dh)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh: %w", err)
	}
	if len(auth) != 16 {
		return nil, errors.New("webpush: auth secret must be 16 bytes")
	}
	asPriv, err := ecdh.P256().GenerateKey(r)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, err
	}
	secret, err := asPriv.ECDH(uaPub)
	if err != nil {
		return nil, err
	}
	asPub := asPriv.PublicKey().Bytes()
	cek, nonce, err := DeriveKeys(secret, auth, salt, p256dh, asPub)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// One record: the plaintext, then the last-record delimiter 0x02.
	padded := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 2)
	var out bytes.Buffer
	out.Write(salt)
	_ = binary.Write(&out, binary.BigEndian, uint32(recordSize))
	out.WriteByte(65) // idlen: an uncompressed P-256 point
	out.Write(asPub)
	out.Write(gcm.Seal(nil, nonce, padded, nil))
	return out.Bytes(), nil
}

// DeriveKeys is the key schedule of RFC 8291 §3.4: from the ECDH secret,
// the auth secret, the record salt and both public keys, the content
// encryption key (16 bytes) and nonce (12 bytes).
func DeriveKeys(secret, auth, salt, uaPub, asPub []byte) (cek, nonce []byte, err error) {
	info := append(append([]byte("WebPush: info\x00"), uaPub...), asPub...)
	ikm, err := hkdf.Key(sha256.New, secret, auth, string(info), 32)
	if err != nil {
		return nil, nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	if cek, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return nil, nil, err
	}
	nonce, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	return cek, nonce, err
}

// ErrGone means the push service no longer knows the subscription (404 or
// 410): delete it.
var ErrGone = errors.New("webpush: subscription gone")

// StatusError is a push service's refusal other than ErrGone.
type StatusError struct {
	Status    int
	Retryable bool // 429 and 5xx: try again later
}

func (e *StatusError) Error() string {
	return "webpush: push service answered " + strconv.Itoa(e.Status)
}

// Options configure a Client.
type Options struct {
	Keys    *Keys
	Subject string        // VAPID subject: mailto:… or https://… of the operator
	TTL     time.Duration // how long the push service keeps an undelivered message; default 24h
	// AllowInsecure lets the client reach http and private or loopback
	// addresses (tests against local push services only).
	AllowInsecure bool
	// Transport overrides the HTTP transport (tests: a TLS test server's).
	Transport http.RoundTripper
	Now       func() time.Time
}

// Client sends Web Push messages. Safe for concurrent use.
type Client struct {
	o    Options
	http *http.Client
}

// New returns a client. Unless AllowInsecure, its connections are refused
// to any address that is not public (parley.PublicAddr), whatever a name
// resolves to, so a subscription cannot make the server probe its network.
func New(o Options) *Client {
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rt := o.Transport
	if rt == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if !o.AllowInsecure {
			d.Control = refusePrivate
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = d.DialContext
		t.Proxy = nil
		t.MaxIdleConnsPerHost = 16
		rt = t
	}
	return &Client{o: o, http: &http.Client{Transport: rt, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// refusePrivate is a dialer Control refusing non-public addresses.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !parley.PublicAddr(addr) {
		return fmt.Errorf("webpush: refusing to connect to %s", host)
	}
	return nil
}

// Message is one push.
type Message struct {
	Payload []byte // plaintext (at most MaxPayload bytes)
	Topic   string // collapse key: a newer message with the same topic replaces an undelivered one
	Urgency string // very-low, low, normal (default) or high
}

// Topic returns a valid Topic header value (at most 32 characters of the
// base64url alphabet) standing for key.
func Topic(key string) string {
	h := sha256.Sum256([]byte(key))
	return b64.EncodeToString(h[:])[:32]
}

// Send encrypts m for sub and posts it to the subscription's endpoint.
// Errors: ErrGone, *StatusError, or a transport error (retryable).
func (c *Client) Send(ctx context.Context, sub parley.PushSubscription, m Message) error {
	if err := parley.CheckPushEndpoint(sub.Endpoint, c.o.AllowInsecure); err != nil {
		return &StatusError{Status: 0}
	}
	p256dh, err := b64.DecodeString(strings.TrimRight(sub.P256DH, "="))
	if err != nil {
		return fmt.Errorf("webpush: p256dh: %w", err)
	}
	auth, err := b64.DecodeString(strings.TrimRight(sub.Auth, "="))
	if err != nil {
		return fmt.Errorf("webpush: auth: %w", err)
	}
	body, err := Encrypt(p256dh, auth, m.Payload, rand.Reader)
	if err != nil {
		return err
	}
	authz, err := c.o.Keys.Authorization(sub.Endpoint, c.o.Subject, c.o.Now().Add(12*time.Hour))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("TTL", strconv.Itoa(int(c.o.TTL.Seconds())))
	if m.Topic != "" {
		req.Header.Set("Topic", m.Topic)
	}
	if m.Urgency != "" {
		req.Header.Set("Urgency", m.Urgency)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return nil
	case s == http.StatusNotFound || s == http.StatusGone:
		return ErrGone
	default:
		return &StatusError{Status: s, Retryable: s == http.StatusTooManyRequests || s >= 500}
	}
}
