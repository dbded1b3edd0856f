package mobilepush

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/mobilepush/mobiletest"
)

func TestFCM(t *testing.T) {
	fake, creds := mobiletest.NewFCM(t)
	f, err := NewFCM(FCMOptions{Credentials: creds, Endpoint: fake.Srv.URL, Client: fake.Srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := Notification{Title: "team", Body: "alice: hi", Badge: 3, CollapseKey: "c1", Data: map[string]string{"conversation_id": "c1"}, High: true}
	for range 2 {
		if err := f.Send(ctx, "device-token-1", n); err != nil {
			t.Fatal(err)
		}
	}
	if fake.Tokens != 1 || len(fake.Sent) != 2 {
		t.Fatalf("%d access tokens, %d messages; want 1 and 2 (the token is cached)", fake.Tokens, len(fake.Sent))
	}
	m := fake.Sent[0]
	android, _ := m["android"].(map[string]any)
	notif, _ := m["notification"].(map[string]any)
	data, _ := m["data"].(map[string]any)
	if m["token"] != "device-token-1" || notif["title"] != "team" || notif["body"] != "alice: hi" || data["conversation_id"] != "c1" ||
		android["collapse_key"] != "c1" || android["priority"] != "HIGH" {
		t.Fatalf("message %v", m)
	}
	// An expired access token: a retryable error, then a new token.
	fake.Expired = true
	var se *StatusError
	if err := f.Send(ctx, "device-token-1", n); !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("401: %v", err)
	}
	if err := f.Send(ctx, "device-token-1", n); err != nil || fake.Tokens != 2 {
		t.Fatalf("after refresh: %v, %d tokens", err, fake.Tokens)
	}
	fake.Answer = func(tok string) (int, string) {
		switch tok {
		case "gone":
			return 404, "UNREGISTERED"
		case "bad":
			return 400, "INVALID_ARGUMENT"
		case "busy":
			return 503, "UNAVAILABLE"
		case "quota":
			return 429, "QUOTA_EXCEEDED"
		}
		return 200, ""
	}
	if err := f.Send(ctx, "gone", n); !errors.Is(err, ErrGone) {
		t.Errorf("unregistered: %v", err)
	}
	if err := f.Send(ctx, "bad", n); !errors.As(err, &se) || se.Retryable {
		t.Errorf("invalid argument: %v", err)
	}
	for _, tok := range []string{"busy", "quota"} {
		if err := f.Send(ctx, tok, n); !errors.As(err, &se) || !se.Retryable {
			t.Errorf("%s: %v", tok, err)
		}
	}
	for _, bad := range []string{`{}`, `not json`, `{"type":"service_account","project_id":"p","client_email":"e","private_key":"nope"}`} {
		if _, err := NewFCM(FCMOptions{Credentials: []byte(bad)}); err == nil {
			t.Errorf("credentials %q accepted", bad)
		}
	}
}

func TestAPNs(t *testing.T) {
	fake, key := mobiletest.NewAPNs(t)
	a, err := NewAPNs(APNsOptions{Key: key, KeyID: "KEY1234567", TeamID: "TEAM123456", Topic: "org.parley.app",
		Endpoint: fake.Srv.URL, Client: fake.Srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	token := strings.Repeat("ab", 32)
	n := Notification{Title: "bob", Body: "New message", Badge: 2, CollapseKey: "c9", Data: map[string]string{"conversation_id": "c9"}, High: true}
	if err := a.Send(ctx, token, n); err != nil {
		t.Fatal(err)
	}
	if len(fake.Sent) != 1 {
		t.Fatalf("sent %v", fake.Sent)
	}
	aps, _ := fake.Sent[0]["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	h := fake.Hdrs[0]
	if alert["title"] != "bob" || aps["badge"] != float64(2) || aps["thread-id"] != "c9" || fake.Sent[0]["conversation_id"] != "c9" ||
		h.Get("apns-topic") != "org.parley.app" || h.Get("apns-push-type") != "alert" || h.Get("apns-collapse-id") != "c9" ||
		h.Get("apns-priority") != "10" {
		t.Fatalf("push %v %v", fake.Sent[0], h)
	}
	fake.Reason["gone"] = "Unregistered"
	fake.Reason["bad"] = "BadDeviceToken"
	fake.Reason["big"] = "PayloadTooLarge"
	fake.Reason["slow"] = "TooManyRequests"
	fake.Reason["exp"] = "ExpiredProviderToken"
	var se *StatusError
	for tok, check := range map[string]func(error) bool{
		"gone": func(err error) bool { return errors.Is(err, ErrGone) },
		"bad":  func(err error) bool { return errors.Is(err, ErrGone) },
		"big":  func(err error) bool { return errors.As(err, &se) && !se.Retryable },
		"slow": func(err error) bool { return errors.As(err, &se) && se.Retryable },
		"exp":  func(err error) bool { return errors.As(err, &se) && se.Retryable },
	} {
		if err := a.Send(ctx, tok, n); !check(err) {
			t.Errorf("%s: %v", tok, err)
		}
	}
	// A key that is not the team's: refused.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(other)
	wrong, _ := NewAPNs(APNsOptions{Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), KeyID: "KEY1234567",
		TeamID: "TEAM123456", Topic: "org.parley.app", Endpoint: fake.Srv.URL, Client: fake.Srv.Client(), Now: time.Now})
	if err := wrong.Send(ctx, token, n); !errors.As(err, &se) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := NewAPNs(APNsOptions{Key: []byte("x"), KeyID: "k", TeamID: "t", Topic: "b"}); err == nil {
		t.Fatal("a bad key was accepted")
	}
}
