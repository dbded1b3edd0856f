// Package pushtest is an in-process Web Push service for tests: an HTTPS
// server that, like a browser vendor's push service and the browser behind
// it, checks each request's VAPID JWT (RFC 8292) and decrypts its
// aes128gcm payload (RFC 8291) with the subscribing device's private key.
// The decryption is written here from the RFC's formulas with HMAC-SHA-256,
// independently of internal/webpush, so the two check each other.
package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var b64 = base64.RawURLEncoding

// Device is one subscribed browser: its endpoint and keys.
type Device struct {
	Endpoint string
	P256DH   string // base64url public key
	Auth     string // base64url auth secret
	priv     *ecdh.PrivateKey
	auth     []byte
}

// Push is one request the service accepted or refused.
type Push struct {
	Endpoint string
	Status   int    // what the service answered
	Payload  []byte // decrypted
	Topic    string
	Urgency  string
	TTL      string
	VAPIDKey string         // the k= of the Authorization header
	Claims   map[string]any // of the verified JWT
	Err      error          // why the request was malformed (VAPID or encryption), nil if fine
}

// Service is the push service.
type Service struct {
	*httptest.Server
	mu      sync.Mutex
	devices map[string]*Device // by path
	status  map[string]int     // by path: answer this instead of 201
	got     []Push
	notify  chan struct{}
}

// New starts a service on a TLS test server, closed when t ends.
func New(t testing.TB) *Service {
	s := &Service{devices: map[string]*Device{}, status: map[string]int{}, notify: make(chan struct{}, 1)}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// NewDevice makes a device key pair and an endpoint on the service.
func (s *Service) NewDevice(t testing.TB) *Device {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	path := "/push/" + b64.EncodeToString(idb)
	d := &Device{Endpoint: s.URL + path, P256DH: b64.EncodeToString(priv.PublicKey().Bytes()),
		Auth: b64.EncodeToString(auth), priv: priv, auth: auth}
	s.mu.Lock()
	s.devices[path] = d
	s.mu.Unlock()
	return d
}

// SetStatus makes the service answer status for d (0: back to 201).
func (s *Service) SetStatus(d *Device, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := strings.TrimPrefix(d.Endpoint, s.URL)
	if status == 0 {
		delete(s.status, path)
	} else {
		s.status[path] = status
	}
}

// Take returns the pushes received so far and forgets them.
func (s *Service) Take() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// Wait returns the pushes received once there are at least n (or after
// timeout, with what there is), forgetting them.
func (s *Service) Wait(n int, timeout time.Duration) []Push {
	deadline := time.After(timeout)
	var got []Push
	for {
		got = append(got, s.Take()...)
		if len(got) >= n {
			return got
		}
		select {
		case <-s.notify:
		case <-deadline:
			return got
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	p := Push{Endpoint: s.URL + r.URL.Path, Topic: r.Header.Get("Topic"), Urgency: r.Header.Get("Urgency"),
		TTL: r.Header.Get("TTL"), Status: http.StatusCreated}
	s.mu.Lock()
	d := s.devices[r.URL.Path]
	if st, ok := s.status[r.URL.Path]; ok {
		p.Status = st
	}
	s.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
	switch {
	case r.Method != http.MethodPost:
		p.Err, p.Status = fmt.Errorf("method %s", r.Method), http.StatusMethodNotAllowed
	case d == nil:
		p.Status = http.StatusNotFound
	case r.Header.Get("Content-Encoding") != "aes128gcm":
		p.Err, p.Status = fmt.Errorf("content-encoding %q", r.Header.Get("Content-Encoding")), http.StatusBadRequest
	case r.Header.Get("TTL") == "":
		p.Err, p.Status = errors.New("no TTL header"), http.StatusBadRequest
	case len(p.Topic) > 32:
		p.Err, p.Status = fmt.Errorf("topic %q over 32 characters", p.Topic), http.StatusBadRequest
	default:
		if p.VAPIDKey, p.Claims, p.Err = verifyVAPID(r.Header.Get("Authorization"), "https://"+r.Host); p.Err != nil {
			p.Status = http.StatusUnauthorized
		} else if p.Payload, p.Err = d.Decrypt(body); p.Err != nil {
			p.Status = http.StatusBadRequest
		}
	}
	s.mu.Lock()
	s.got = append(s.got, p)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(p.Status)
}

// verifyVAPID checks "vapid t=<jwt>, k=<key>": an ES256 JWT signed by k,
// whose aud is the push service's origin, exp in the next 24 hours and sub
// a mailto: or https: URL.
func verifyVAPID(h, origin string) (string, map[string]any, error) {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return "", nil, fmt.Errorf("authorization %q is not vapid", h)
	}
	var token, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			token = v
		case "k":
			key = v
		}
	}
	raw, err := b64.DecodeString(key)
	if err != nil {
		return "", nil, fmt.Errorf("k: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return "", nil, fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", nil, errors.New("jwt: not three parts")
	}
	var header map[string]any
	if hb, err := b64.DecodeString(parts[0]); err != nil || json.Unmarshal(hb, &header) != nil || header["alg"] != "ES256" {
		return "", nil, fmt.Errorf("jwt header %v", header)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", nil, errors.New("jwt: signature is not 64 bytes")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", nil, errors.New("jwt: bad signature")
	}
	var claims map[string]any
	if cb, err := b64.DecodeString(parts[1]); err != nil || json.Unmarshal(cb, &claims) != nil {
		return "", nil, errors.New("jwt: claims")
	}
	if claims["aud"] != origin {
		return "", nil, fmt.Errorf("jwt: aud %v, want %s", claims["aud"], origin)
	}
	exp, _ := claims["exp"].(float64)
	if now := float64(time.Now().Unix()); exp <= now || exp > now+24*3600 {
		return "", nil, fmt.Errorf("jwt: exp %v not within the next 24 hours", claims["exp"])
	}
	if sub, _ := claims["sub"].(string); !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https://") {
		return "", nil, fmt.Errorf("jwt: sub %q", sub)
	}
	return key, claims, nil
}

func hmacSHA256(key []byte, data ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// Decrypt opens an aes128gcm body (RFC 8188 header: salt, rs, idlen, keyid)
// encrypted for d as RFC 8291 says, and strips the padding.
func (d *Device) Decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen+17 {
		return nil, fmt.Errorf("keyid of %d bytes", idlen)
	}
	asPub, ct := body[21:21+idlen], body[21+idlen:]
	if int64(len(ct)) > int64(rs) {
		return nil, fmt.Errorf("more than one record (%d bytes, rs %d)", len(ct), rs)
	}
	as, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		return nil, err
	}
	secret, err := d.priv.ECDH(as)
	if err != nil {
		return nil, err
	}
	// RFC 8291 §3.3–3.4, HKDF written out: Extract is HMAC(salt, ikm), one
	// block of Expand is HMAC(prk, info || 0x01).
	keyInfo := append(append([]byte("WebPush: info\x00"), d.priv.PublicKey().Bytes()...), asPub...)
	prkKey := hmacSHA256(d.auth, secret)
	ikm := hmacSHA256(prkKey, keyInfo, []byte{1})
	prk := hmacSHA256(salt, ikm)
	cek := hmacSHA256(prk, []byte("Content-Encoding: aes128gcm\x00"), []byte{1})[:16]
	nonce := hmacSHA256(prk, []byte("Content-Encoding: nonce\x00"), []byte{1})[:12]
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:i], nil
}
