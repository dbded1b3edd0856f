package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
	"github.com/parley-chat/parley/internal/webpush"
	"github.com/parley-chat/parley/internal/webpush/pushtest"
)

// pushCall sends a JSON request with token and decodes a 2xx answer into
// out (if not nil); it returns the status.
func pushCall(t *testing.T, env *apitest.Env, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func subscribe(t *testing.T, env *apitest.Env, token string, d *pushtest.Device) parley.PushSubscription {
	t.Helper()
	var sub parley.PushSubscription
	body := map[string]any{"endpoint": d.Endpoint, "expirationTime": nil, "keys": map[string]string{"p256dh": d.P256DH, "auth": d.Auth}}
	if st := pushCall(t, env, "POST", "/api/v1/push/subscriptions", token, body, &sub); st != http.StatusCreated {
		t.Fatalf("subscribe: status %d", st)
	}
	return sub
}

// metric reads one sample of the server's /metrics ("name{labels}").
func metric(t *testing.T, env *apitest.Env, sample string) float64 {
	t.Helper()
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

func waitMetric(t *testing.T, env *apitest.Env, sample string, atLeast float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for metric(t, env, sample) < atLeast {
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed below %v", sample, atLeast)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onePush waits for exactly the next push to d and returns its payload.
func onePush(t *testing.T, svc *pushtest.Service, d *pushtest.Device) (pushtest.Push, map[string]any) {
	t.Helper()
	got := svc.Wait(1, 20*time.Second)
	if len(got) != 1 || got[0].Endpoint != d.Endpoint || got[0].Err != nil || got[0].Status != http.StatusCreated {
		t.Fatalf("pushes %+v", got)
	}
	var payload map[string]any
	if err := json.Unmarshal(got[0].Payload, &payload); err != nil {
		t.Fatalf("payload %q: %v", got[0].Payload, err)
	}
	return got[0], payload
}

// TestWebPushEndToEnd runs the whole path on a real server: a browser's
// subscription over REST, a message, the notifier, the Web Push sender,
// and an in-process push service that checks the VAPID JWT and decrypts
// the payload; gone subscriptions are pruned, previews follow the setting,
// a focused device holds pushes back, and a failing push service is
// retried.
func TestWebPushEndToEnd(t *testing.T) {
	svc := pushtest.New(t)
	env := apitest.Start(t, func(c *server.Config) {
		c.PushAllowInsecure = true // the push service is https://127.0.0.1
		c.PushTransport = svc.Client().Transport
		c.NotifyPoll = 50 * time.Millisecond
		c.VAPIDSubject = "mailto:ops@example.org"
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := env.NewUser(t, "alice")
	bob, bobUser := env.NewUser(t, "bob")
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if st := pushCall(t, env, "GET", "/api/v1/push/vapid-key", bob.Token(), nil, &key); st != 200 || len(key.PublicKey) != 87 {
		t.Fatalf("vapid key %d %+v", st, key)
	}
	phone, stale := svc.NewDevice(t), svc.NewDevice(t)
	subscribe(t, env, bob.Token(), phone)
	subscribe(t, env, bob.Token(), stale)
	svc.SetStatus(stale, http.StatusGone)

	conv, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect,
		MemberIDs: []string{bobUser.ID}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(body string) {
		t.Helper()
		if _, _, err := alice.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	send("the secret plan")
	got := svc.Wait(2, 20*time.Second)
	if len(got) != 2 {
		t.Fatalf("pushes %+v", got)
	}
	for _, p := range got {
		if p.Err != nil {
			t.Fatalf("push service refused: %v", p.Err)
		}
		if p.Endpoint == stale.Endpoint {
			continue
		}
		var payload map[string]any
		_ = json.Unmarshal(p.Payload, &payload)
		if payload["conversation_id"] != conv.ID || payload["reason"] != "direct" || payload["title"] != "alice" ||
			payload["unread"] != float64(1) || payload["body"] != nil || strings.Contains(string(p.Payload), "secret") {
			t.Fatalf("payload without previews %s", p.Payload)
		}
		if p.VAPIDKey != key.PublicKey || p.Topic != webpush.Topic(conv.ID) || p.Claims["sub"] != "mailto:ops@example.org" {
			t.Fatalf("push headers %+v", p)
		}
	}
	waitMetric(t, env, `parley_notifications_sent_total{channel="push"}`, 1)
	var subs struct {
		Subscriptions []parley.PushSubscription `json:"subscriptions"`
	}
	if pushCall(t, env, "GET", "/api/v1/push/subscriptions", bob.Token(), nil, &subs); len(subs.Subscriptions) != 1 ||
		subs.Subscriptions[0].Endpoint != phone.Endpoint {
		t.Fatalf("after a 410 the subscriptions are %+v", subs)
	}

	// Previews on: the text travels, encrypted.
	if st := pushCall(t, env, "PUT", "/api/v1/me/notifications", bob.Token(), map[string]any{"level": "all", "previews": true}, nil); st != 200 {
		t.Fatalf("set previews: %d", st)
	}
	send("lunch at noon?")
	if _, payload := onePush(t, svc, phone); payload["body"] != "lunch at noon?" || payload["unread"] != float64(2) {
		t.Fatalf("payload with previews %v", payload)
	}

	// A focused device (reported over the socket) holds pushes back.
	rt, err := bob.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Focus(ctx, true); err != nil {
		t.Fatal(err)
	}
	send("are you there")
	waitMetric(t, env, `parley_notifications_skipped_total{channel="push",reason="focused"}`, 1)
	if err := rt.Focus(ctx, false); err != nil {
		t.Fatal(err)
	}
	send("now?")
	if _, payload := onePush(t, svc, phone); payload["body"] != "now?" {
		t.Fatalf("after blur %v", payload)
	}

	// The push service fails: the entry is retried with backoff and
	// arrives once it recovers.
	svc.SetStatus(phone, http.StatusServiceUnavailable)
	send("retry me")
	waitMetric(t, env, `parley_notifications_retried_total{channel="push"}`, 1)
	svc.SetStatus(phone, 0)
	var p map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for p == nil || p["body"] != "retry me" {
		got := svc.Wait(1, time.Until(deadline))
		if len(got) == 0 {
			t.Fatal("the retried push never arrived")
		}
		for _, g := range got {
			if g.Status == http.StatusCreated {
				_ = json.Unmarshal(g.Payload, &p)
			}
		}
	}
	if metric(t, env, `parley_notifications_failed_total{channel="push"}`) != 0 {
		t.Fatal("a notification was given up")
	}
}

// TestPushSubscriptionBadInput: hostile endpoints, bad keys and floods.
func TestPushSubscriptionBadInput(t *testing.T) {
	svc := pushtest.New(t)
	env := apitest.Start(t, func(c *server.Config) { c.PushSubsPerUser = 3 })
	bob, _ := env.NewUser(t, "bob")
	eve, _ := env.NewUser(t, "eve")
	d := svc.NewDevice(t)
	sub := func(endpoint, p256dh, auth string) map[string]any {
		return map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": p256dh, "auth": auth}}
	}
	for _, c := range []struct {
		body   any
		status int
	}{
		{sub(d.Endpoint, d.P256DH, d.Auth), 400}, // https://127.0.0.1:port: loopback
		{sub("http://push.example/x", d.P256DH, d.Auth), 400},
		{sub("https://10.0.0.1/x", d.P256DH, d.Auth), 400},
		{sub("https://[::1]/x", d.P256DH, d.Auth), 400},
		{sub("https://169.254.169.254/latest/meta-data", d.P256DH, d.Auth), 400},
		{sub("https://localhost/x", d.P256DH, d.Auth), 400},
		{sub("https://push.example/"+strings.Repeat("a", 2100), d.P256DH, d.Auth), 413},
		{sub("https://push.example/x", "AAAA", d.Auth), 400},
		{sub("https://push.example/x", d.P256DH, "short"), 400},
		{map[string]any{"endpoint": 42}, 400},
		{map[string]any{"endpoint": "https://push.example/x", "keys": map[string]string{"p256dh": d.P256DH, "auth": d.Auth}, "extra": 1}, 400},
	} {
		if st := pushCall(t, env, "POST", "/api/v1/push/subscriptions", bob.Token(), c.body, nil); st != c.status {
			t.Errorf("%.120v: status %d, want %d", c.body, st, c.status)
		}
	}
	// A flood keeps the newest 3.
	var last parley.PushSubscription
	for i := range 10 {
		body := sub(fmt.Sprintf("https://push.example/flood/%d", i), d.P256DH, d.Auth)
		if st := pushCall(t, env, "POST", "/api/v1/push/subscriptions", bob.Token(), body, &last); st != 201 {
			t.Fatalf("subscribe %d: %d", i, st)
		}
	}
	var subs struct {
		Subscriptions []parley.PushSubscription `json:"subscriptions"`
	}
	pushCall(t, env, "GET", "/api/v1/push/subscriptions", bob.Token(), nil, &subs)
	if len(subs.Subscriptions) != 3 || subs.Subscriptions[2].Endpoint != "https://push.example/flood/9" {
		t.Fatalf("after a flood %+v", subs)
	}
	// Someone else's subscription is not found; unknown ids neither.
	if st := pushCall(t, env, "DELETE", "/api/v1/push/subscriptions/"+last.ID, eve.Token(), nil, nil); st != 404 {
		t.Fatalf("deleting bob's subscription as eve: %d", st)
	}
	if st := pushCall(t, env, "DELETE", "/api/v1/push/subscriptions/nope", bob.Token(), nil, nil); st != 404 {
		t.Fatalf("bad id: %d", st)
	}
	if st := pushCall(t, env, "DELETE", "/api/v1/push/subscriptions/"+last.ID, bob.Token(), nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := pushCall(t, env, "GET", "/api/v1/push/subscriptions", "", nil, nil); st != 401 {
		t.Fatalf("anonymous: %d", st)
	}
	// No FCM credentials on this server: an FCM token is refused.
	if st := pushCall(t, env, "POST", "/api/v1/push/devices", bob.Token(), map[string]string{"platform": "fcm",
		"token": strings.Repeat("a", 40)}, nil); st != 503 {
		t.Fatalf("fcm device without credentials: %d", st)
	}
	// Web Push off: subscribing is unavailable.
	off := apitest.Start(t, func(c *server.Config) { c.WebPush = false })
	carol, _ := off.NewUser(t, "carol")
	if st := pushCall(t, off, "GET", "/api/v1/push/vapid-key", carol.Token(), nil, nil); st != 503 {
		t.Fatalf("vapid key with web push off: %d", st)
	}
	if st := pushCall(t, off, "POST", "/api/v1/push/subscriptions", carol.Token(), sub("https://push.example/x", d.P256DH, d.Auth), nil); st != 503 {
		t.Fatalf("subscribe with web push off: %d", st)
	}
}
