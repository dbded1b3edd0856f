package mobilepush

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// APNsOptions configure an APNs sender.
type APNsOptions struct {
	Key    []byte // the .p8 authentication key (PEM, PKCS #8, P-256)
	KeyID  string // its 10-character key id
	TeamID string // the developer team id
	Topic  string // the app's bundle id
	// Sandbox sends to the development environment.
	Sandbox bool
	// Endpoint overrides the host (tests).
	Endpoint string
	Client   *http.Client
	Now      func() time.Time
}

// APNs sends through the APNs provider API (HTTP/2). Safe for concurrent use.
type APNs struct {
	o    APNsOptions
	key  *ecdsa.PrivateKey
	http *http.Client

	mu     sync.Mutex
	jwt    string
	issued time.Time
}

// NewAPNs parses the key.
func NewAPNs(o APNsOptions) (*APNs, error) {
	if o.KeyID == "" || o.TeamID == "" || o.Topic == "" {
		return nil, errors.New("apns: key id, team id and topic (bundle id) are required")
	}
	k, err := parsePKCS8PEM(o.Key)
	if err != nil {
		return nil, fmt.Errorf("apns key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("apns: the key is not an EC key")
	}
	if o.Endpoint == "" {
		o.Endpoint = "https://api.push.apple.com"
		if o.Sandbox {
			o.Endpoint = "https://api.sandbox.push.apple.com"
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := httpClient(o.Client)
	return &APNs{o: o, key: ek, http: c}, nil
}

// providerToken returns the ES256 JWT APNs authenticates with, renewed
// every 40 minutes (APNs refuses tokens older than an hour and renewals
// more often than every 20 minutes).
func (a *APNs) providerToken(force bool) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.o.Now()
	if a.jwt != "" && !force && now.Sub(a.issued) < 40*time.Minute {
		return a.jwt, nil
	}
	b64 := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": a.o.KeyID})
	claims, _ := json.Marshal(map[string]any{"iss": a.o.TeamID, "iat": now.Unix()})
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(claims)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, a.key, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	a.jwt, a.issued = signing+"."+b64.EncodeToString(sig), now
	return a.jwt, nil
}

// Send implements Sender.
func (a *APNs) Send(ctx context.Context, token string, n Notification) error {
	jwt, err := a.providerToken(false)
	if err != nil {
		return err
	}
	payload := map[string]any{"aps": map[string]any{"alert": map[string]string{"title": n.Title, "body": n.Body},
		"badge": n.Badge, "sound": "default", "thread-id": n.CollapseKey}}
	for k, v := range n.Data {
		if k != "aps" {
			payload[k] = v
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.o.Endpoint+"/3/device/"+token, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("authorization", "bearer "+jwt)
	req.Header.Set("apns-topic", a.o.Topic)
	req.Header.Set("apns-push-type", "alert")
	req.Header.Set("apns-expiration", strconv.FormatInt(a.o.Now().Add(24*time.Hour).Unix(), 10))
	priority := "5"
	if n.High {
		priority = "10"
	}
	req.Header.Set("apns-priority", priority)
	if n.CollapseKey != "" && len(n.CollapseKey) <= 64 {
		req.Header.Set("apns-collapse-id", n.CollapseKey)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	var e struct {
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	switch {
	case resp.StatusCode == http.StatusGone || e.Reason == "BadDeviceToken" || e.Reason == "Unregistered" ||
		e.Reason == "DeviceTokenNotForTopic":
		return ErrGone
	case e.Reason == "ExpiredProviderToken" || e.Reason == "InvalidProviderToken":
		_, _ = a.providerToken(true)
		se := statusError("apns", resp.StatusCode, e.Reason)
		se.Retryable = true
		return se
	}
	return statusError("apns", resp.StatusCode, e.Reason)
}
