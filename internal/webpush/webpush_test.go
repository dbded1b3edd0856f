package webpush

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/webpush/pushtest"
)

func newTestClient(t *testing.T, svc *pushtest.Service) (*Client, *Keys) {
	t.Helper()
	enc, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseKeys(enc)
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Keys: keys, Subject: "mailto:ops@example.org", AllowInsecure: true,
		Transport: svc.Client().Transport}), keys
}

func sub(d *pushtest.Device) parley.PushSubscription {
	return parley.PushSubscription{ID: parley.NewID(), Endpoint: d.Endpoint, P256DH: d.P256DH, Auth: d.Auth}
}

// TestSendIsDecryptedByThePushService: the independent decryption of
// pushtest recovers the payload; the VAPID JWT verifies against our key.
func TestSendIsDecryptedByThePushService(t *testing.T) {
	svc := pushtest.New(t)
	c, keys := newTestClient(t, svc)
	d := svc.NewDevice(t)
	for _, payload := range []string{`{"hello":"world"}`, "", strings.Repeat("x", MaxPayload)} {
		if err := c.Send(context.Background(), sub(d), Message{Payload: []byte(payload), Topic: Topic("conv"), Urgency: "high"}); err != nil {
			t.Fatal(err)
		}
		got := svc.Take()
		if len(got) != 1 || got[0].Err != nil || string(got[0].Payload) != payload {
			t.Fatalf("push service got %+v", got)
		}
		p := got[0]
		if p.VAPIDKey != keys.Public || p.Claims["sub"] != "mailto:ops@example.org" || p.Topic != Topic("conv") ||
			p.Urgency != "high" || p.TTL != "86400" {
			t.Fatalf("headers/claims %+v", p)
		}
	}
	if err := c.Send(context.Background(), sub(d), Message{Payload: make([]byte, MaxPayload+1)}); err == nil {
		t.Fatal("an oversized payload was sent")
	}
	if len(Topic("x")) != 32 || Topic("a") == Topic("b") || strings.ContainsAny(Topic("a"), "+/=") {
		t.Fatal("Topic")
	}
}

// TestEncryptIsFresh: two encryptions of one payload differ (fresh salt
// and ephemeral key) and both decrypt.
func TestEncryptIsFresh(t *testing.T) {
	svc := pushtest.New(t)
	d := svc.NewDevice(t)
	pub, _ := b64.DecodeString(d.P256DH)
	auth, _ := b64.DecodeString(d.Auth)
	a, err1 := Encrypt(pub, auth, []byte("same"), rand.Reader)
	b, err2 := Encrypt(pub, auth, []byte("same"), rand.Reader)
	if err1 != nil || err2 != nil || string(a) == string(b) {
		t.Fatal("encryptions equal or failed", err1, err2)
	}
	for _, body := range [][]byte{a, b} {
		if p, err := d.Decrypt(body); err != nil || string(p) != "same" {
			t.Fatalf("%q %v", p, err)
		}
	}
	a[len(a)-1] ^= 1
	if _, err := d.Decrypt(a); err == nil {
		t.Fatal("a tampered body decrypted")
	}
	if _, err := Encrypt([]byte("short"), auth, nil, rand.Reader); err == nil {
		t.Fatal("a bad p256dh was accepted")
	}
	if _, err := Encrypt(pub, auth[:8], nil, rand.Reader); err == nil {
		t.Fatal("a short auth secret was accepted")
	}
}

func TestSendStatuses(t *testing.T) {
	svc := pushtest.New(t)
	c, _ := newTestClient(t, svc)
	d := svc.NewDevice(t)
	ctx := context.Background()
	for status, check := range map[int]func(error) bool{
		http.StatusGone:            func(err error) bool { return errors.Is(err, ErrGone) },
		http.StatusNotFound:        func(err error) bool { return errors.Is(err, ErrGone) },
		http.StatusTooManyRequests: func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Retryable },
		http.StatusBadGateway:      func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Retryable },
		http.StatusBadRequest:      func(err error) bool { var se *StatusError; return errors.As(err, &se) && !se.Retryable },
		http.StatusForbidden:       func(err error) bool { var se *StatusError; return errors.As(err, &se) && !se.Retryable },
	} {
		svc.SetStatus(d, status)
		if err := c.Send(ctx, sub(d), Message{Payload: []byte("x")}); !check(err) {
			t.Errorf("status %d gave %v", status, err)
		}
	}
	svc.SetStatus(d, 0)
	unknown := sub(d)
	unknown.Endpoint = svc.URL + "/push/unknown"
	if err := c.Send(ctx, unknown, Message{}); !errors.Is(err, ErrGone) {
		t.Errorf("unknown endpoint: %v", err)
	}
}

// TestRefusesPrivateAddresses: without AllowInsecure a subscription cannot
// make the server connect to this machine or its network, neither by URL
// nor by a name that resolves there.
func TestRefusesPrivateAddresses(t *testing.T) {
	svc := pushtest.New(t)
	d := svc.NewDevice(t)
	enc, _ := GenerateKeys()
	keys, _ := ParseKeys(enc)
	c := New(Options{Keys: keys, Subject: "mailto:ops@example.org"})
	err := c.Send(context.Background(), sub(d), Message{Payload: []byte("x")}) // https://127.0.0.1:port
	var se *StatusError
	if !errors.As(err, &se) || se.Retryable {
		t.Fatalf("loopback endpoint: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:443", "10.1.2.3:443", "[::1]:443", "169.254.169.254:80", "192.168.0.1:443",
		"100.64.0.1:443", "[fd00::1]:443", "0.0.0.0:443"} {
		if refusePrivate("tcp", addr, nil) == nil {
			t.Errorf("dialing %s allowed", addr)
		}
	}
	if err := refusePrivate("tcp", "93.184.215.14:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
}

func TestKeys(t *testing.T) {
	if _, err := ParseKeys("not base64!"); err == nil {
		t.Fatal("bad key parsed")
	}
	if _, err := ParseKeys(b64.EncodeToString(make([]byte, 32))); err == nil {
		t.Fatal("zero scalar parsed")
	}
	enc, _ := GenerateKeys()
	k1, _ := ParseKeys(enc)
	k2, _ := ParseKeys(enc)
	if k1.Public != k2.Public || len(k1.Public) != 87 {
		t.Fatalf("public keys %q %q", k1.Public, k2.Public)
	}
	h, err := k1.Authorization("https://push.example:8443/x/y", "mailto:a@b.c", time.Now().Add(time.Hour))
	if err != nil || !strings.HasPrefix(h, "vapid t=") || !strings.HasSuffix(h, ", k="+k1.Public) {
		t.Fatalf("%q %v", h, err)
	}
}
