package mobilepush

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"crypto/rand"
)

// FCMOptions configure an FCM sender.
type FCMOptions struct {
	// Credentials is a Firebase service account key (the JSON file from
	// the Firebase console: project_id, client_email, private_key, token_uri).
	Credentials []byte
	// Endpoint overrides https://fcm.googleapis.com (tests).
	Endpoint string
	// TokenURL overrides the credentials' token_uri (tests).
	TokenURL string
	Client   *http.Client
	Now      func() time.Time
}

// FCM sends through the FCM HTTP v1 API. Safe for concurrent use.
type FCM struct {
	o        FCMOptions
	project  string
	email    string
	key      *rsa.PrivateKey
	tokenURL string
	http     *http.Client

	mu      sync.Mutex
	access  string
	expires time.Time
}

// NewFCM parses the credentials.
func NewFCM(o FCMOptions) (*FCM, error) {
	var sa struct {
		Type        string `json:"type"`
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
		TokenURI    string `json:"token_uri"`
	}
	if err := json.Unmarshal(o.Credentials, &sa); err != nil {
		return nil, fmt.Errorf("fcm credentials: %w", err)
	}
	if sa.Type != "service_account" || sa.ProjectID == "" || sa.ClientEmail == "" {
		return nil, errors.New("fcm credentials: not a service account key (type, project_id, client_email)")
	}
	k, err := parsePKCS8PEM([]byte(sa.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("fcm credentials: private_key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("fcm credentials: private_key is not RSA")
	}
	f := &FCM{o: o, project: sa.ProjectID, email: sa.ClientEmail, key: rk, tokenURL: sa.TokenURI, http: httpClient(o.Client)}
	if o.TokenURL != "" {
		f.tokenURL = o.TokenURL
	}
	if f.tokenURL == "" {
		f.tokenURL = "https://oauth2.googleapis.com/token"
	}
	if f.o.Endpoint == "" {
		f.o.Endpoint = "https://fcm.googleapis.com"
	}
	if f.o.Now == nil {
		f.o.Now = time.Now
	}
	return f, nil
}

const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// accessToken returns a cached OAuth 2.0 access token, fetching a new one
// (JWT bearer grant, RFC 7523, signed RS256) shortly before it expires.
func (f *FCM) accessToken(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.o.Now()
	if f.access != "" && now.Before(f.expires.Add(-time.Minute)) {
		return f.access, nil
	}
	b64 := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"iss": f.email, "scope": fcmScope, "aud": f.tokenURL,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	signing := b64.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + b64.EncodeToString(claims)
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {signing + "." + b64.EncodeToString(sig)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", statusError("fcm token endpoint", resp.StatusCode, "")
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("fcm token endpoint: bad answer: %v", err)
	}
	f.access, f.expires = tok.AccessToken, now.Add(time.Duration(tok.ExpiresIn)*time.Second)
	return f.access, nil
}

// Send implements Sender.
func (f *FCM) Send(ctx context.Context, token string, n Notification) error {
	access, err := f.accessToken(ctx)
	if err != nil {
		return err
	}
	priority := "NORMAL"
	if n.High {
		priority = "HIGH"
	}
	msg := map[string]any{
		"token":        token,
		"notification": map[string]string{"title": n.Title, "body": n.Body},
		"data":         n.Data,
		"android": map[string]any{"collapse_key": n.CollapseKey, "priority": priority,
			"notification": map[string]any{"tag": n.CollapseKey, "notification_count": n.Badge}},
		"apns": map[string]any{"headers": map[string]string{"apns-collapse-id": n.CollapseKey},
			"payload": map[string]any{"aps": map[string]any{"badge": n.Badge, "thread-id": n.CollapseKey}}},
	}
	body, err := json.Marshal(map[string]any{"message": msg})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		f.o.Endpoint+"/v1/projects/"+url.PathEscape(f.project)+"/messages:send", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	var e struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				ErrorCode string `json:"errorCode"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	code := e.Error.Status
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || code == "UNREGISTERED" || code == "SENDER_ID_MISMATCH":
		return ErrGone
	case resp.StatusCode == http.StatusUnauthorized:
		f.mu.Lock()
		f.access = "" // fetch a new access token next time
		f.mu.Unlock()
		se := statusError("fcm", resp.StatusCode, code)
		se.Retryable = true
		return se
	}
	return statusError("fcm", resp.StatusCode, code)
}
