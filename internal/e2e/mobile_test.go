package e2e_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/mobilepush/mobiletest"
	"github.com/parley-chat/parley/internal/server"
)

// TestMobilePushEndToEnd: a message reaches a user's Android (FCM) and iOS
// (APNs) devices through in-process fakes of both services that check the
// server's credentials; a token APNs calls unregistered is deleted; bad
// registrations are refused.
func TestMobilePushEndToEnd(t *testing.T) {
	fcm, creds := mobiletest.NewFCM(t)
	apns, key := mobiletest.NewAPNs(t)
	dir := t.TempDir()
	credsFile, keyFile := filepath.Join(dir, "fcm.json"), filepath.Join(dir, "apns.p8")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(fcm.Srv.Certificate())
	pool.AddCert(apns.Srv.Certificate())
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	env := apitest.Start(t, func(c *server.Config) {
		c.FCMCredentials, c.APNsKey, c.APNsKeyID, c.APNsTeamID, c.APNsTopic = credsFile, keyFile, "KEY1234567", "TEAM123456", "org.parley.app"
		c.MobilePush = server.MobilePushOverrides{FCMEndpoint: fcm.Srv.URL, APNsEndpoint: apns.Srv.URL, Client: hc}
		c.NotifyPoll = 50 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	fcmToken := "fcm_" + strings.Repeat("Ab9-", 30)
	apnsToken := strings.Repeat("0f", 32)
	for _, d := range []map[string]string{{"platform": "fcm", "token": fcmToken}, {"platform": "apns", "token": apnsToken}} {
		if st := pushCall(t, env, "POST", "/api/v1/push/devices", bob.Token(), d, nil); st != 201 {
			t.Fatalf("register %v: %d", d, st)
		}
	}
	for _, c := range []struct {
		body   map[string]string
		status int
	}{
		{map[string]string{"platform": "sms", "token": fcmToken}, 400},
		{map[string]string{"platform": "apns", "token": "not-hex"}, 400},
		{map[string]string{"platform": "fcm", "token": "has spaces " + strings.Repeat("x", 40)}, 400},
		{map[string]string{"platform": "fcm", "token": strings.Repeat("x", 5000)}, 413},
		{map[string]string{"platform": "fcm"}, 400},
	} {
		if st := pushCall(t, env, "POST", "/api/v1/push/devices", bob.Token(), c.body, nil); st != c.status {
			t.Errorf("register %.80v: %d, want %d", c.body, st, c.status)
		}
	}

	conv, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(body string) {
		if _, _, err := alice.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	counts := func() (int, int) {
		fcm.Mu.Lock()
		apns.Mu.Lock()
		defer fcm.Mu.Unlock()
		defer apns.Mu.Unlock()
		return len(fcm.Sent), len(apns.Sent)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	send("private words")
	waitFor("both pushes", func() bool { f, a := counts(); return f == 1 && a == 1 })
	fcm.Mu.Lock()
	m := fcm.Sent[0]
	fcm.Mu.Unlock()
	notif, _ := m["notification"].(map[string]any)
	data, _ := m["data"].(map[string]any)
	android, _ := m["android"].(map[string]any)
	if m["token"] != fcmToken || notif["title"] != "alice" || notif["body"] != "New message" || data["conversation_id"] != conv.ID ||
		android["collapse_key"] != conv.ID || strings.Contains(mustJSON(t, m), "private words") {
		t.Fatalf("fcm message %v", m)
	}
	apns.Mu.Lock()
	a := apns.Sent[0]
	h := apns.Hdrs[0]
	apns.Mu.Unlock()
	aps, _ := a["aps"].(map[string]any)
	if aps["badge"] != float64(1) || h.Get("apns-collapse-id") != conv.ID || h.Get("apns-topic") != "org.parley.app" ||
		strings.Contains(mustJSON(t, a), "private words") {
		t.Fatalf("apns push %v %v", a, h)
	}

	apns.Mu.Lock()
	apns.Reason[apnsToken] = "Unregistered"
	apns.Mu.Unlock()
	send("again")
	waitFor("the second fcm push", func() bool { f, _ := counts(); return f == 2 })
	waitFor("the gone apns device deleted", func() bool {
		ds, err := bob.PushDevices(ctx)
		return err == nil && len(ds) == 1 && ds[0].Platform == parley.PlatformFCM
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
