package e2e_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestE2EEBadInput: every e2ee endpoint answers malformed, oversized,
// mistyped and missing input with a typed error and stores nothing; a
// flood of claims is rate limited.
func TestE2EEBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	c, _ := env.NewUser(t, "mallory")
	_, other := env.NewUser(t, "victim")
	tok := c.Token()
	good, _ := rawDevice(t, 2)
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	const bad, tooLarge, conflict, notFound, created = 400, 413, 409, 404, 201
	call := func(method, path, body string) int { return authzCall(t, env, method, path, tok, body) }
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"not json", "POST", "/api/v1/e2ee/devices", `{`, bad},
		{"wrong type", "POST", "/api/v1/e2ee/devices", `{"name":5}`, bad},
		{"unknown field", "POST", "/api/v1/e2ee/devices", strings.Replace(good, `"name"`, `"nom":1,"name"`, 1), bad},
		{"missing signed prekey", "POST", "/api/v1/e2ee/devices", `{"name":"x","identity_sign":"` + b64(32) + `"}`, bad},
		{"short identity key", "POST", "/api/v1/e2ee/devices", strings.Replace(good, `"identity_sign":"`, `"identity_sign":"AAAA`, 1), bad},
		{"not base64", "POST", "/api/v1/e2ee/devices", strings.Replace(good, `"identity_dh":"`, `"identity_dh":"!!`, 1), bad},
		{"forged signature", "POST", "/api/v1/e2ee/devices", strings.Replace(good, `"signed_prekey":{"id":1`, `"signed_prekey":{"id":2`, 1), bad},
		{"name too long", "POST", "/api/v1/e2ee/devices", strings.Replace(good, `"name":"dev"`, `"name":"`+strings.Repeat("n", 65)+`"`, 1), tooLarge},
		{"the good one", "POST", "/api/v1/e2ee/devices", good, created},
		{"the same identity again", "POST", "/api/v1/e2ee/devices", good, conflict},
		{"malformed user id", "GET", "/api/v1/e2ee/users/not-an-id/devices", "", bad},
		{"someone unrelated's devices", "GET", "/api/v1/e2ee/users/" + other.ID + "/devices", "", notFound},
		{"someone unrelated's bundles", "POST", "/api/v1/e2ee/users/" + other.ID + "/bundles", "", notFound},
		{"malformed device id", "GET", "/api/v1/e2ee/devices/x/prekey_count", "", bad},
		{"unknown device", "DELETE", "/api/v1/e2ee/devices/" + parley.NewID(), "", notFound},
		{"backup not json", "PUT", "/api/v1/e2ee/backup", `[`, bad},
		{"backup without v", "PUT", "/api/v1/e2ee/backup", `{"ct":"AA=="}`, bad},
		{"backup too large", "PUT", "/api/v1/e2ee/backup", `{"v":1,"ct":"` + strings.Repeat("A", 1<<20) + `"}`, tooLarge},
	}
	for _, tc := range cases {
		if got := call(tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	devs, err := c.Devices(ctx, mustMe(t, c).ID)
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices after the bad input: %d %v", len(devs), err)
	}
	dev := devs[0].ID
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"empty prekey upload", "POST", "/api/v1/e2ee/devices/" + dev + "/one_time_prekeys", `{"one_time_prekeys":[]}`, bad},
		{"short prekey", "POST", "/api/v1/e2ee/devices/" + dev + "/one_time_prekeys", `{"one_time_prekeys":[{"id":1,"key":"AAAA"}]}`, bad},
		{"duplicate prekey ids", "POST", "/api/v1/e2ee/devices/" + dev + "/one_time_prekeys",
			fmt.Sprintf(`{"one_time_prekeys":[{"id":9,"key":"%s"},{"id":9,"key":"%s"}]}`, b64(32), b64(32)), bad},
		{"too many prekeys", "POST", "/api/v1/e2ee/devices/" + dev + "/one_time_prekeys", `{"one_time_prekeys":[` +
			strings.TrimSuffix(strings.Repeat(`{"id":1,"key":"`+b64(32)+`"},`, 101), ",") + `]}`, tooLarge},
		{"unsigned signed prekey", "PUT", "/api/v1/e2ee/devices/" + dev + "/signed_prekey",
			fmt.Sprintf(`{"id":3,"key":"%s","sig":"%s"}`, b64(32), b64(64)), bad},
	} {
		if got := call(tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if n, err := c.PrekeyCount(ctx, dev); err != nil || n != 2 {
		t.Fatalf("prekeys after the refused uploads: %d %v", n, err)
	}
	// Up to 16 devices, then too_large.
	for i := 1; i < parley.MaxE2EEDevices; i++ {
		body, _ := rawDevice(t, 0)
		if got := call("POST", "/api/v1/e2ee/devices", body); got != created {
			t.Fatalf("device %d: %d", i+1, got)
		}
	}
	body, _ := rawDevice(t, 0)
	if got := call("POST", "/api/v1/e2ee/devices", body); got != tooLarge {
		t.Fatalf("device 17: %d", got)
	}
	// A flood of bundle claims is rate limited.
	limited, me := false, mustMe(t, c).ID
	for range 200 {
		if got := call("POST", "/api/v1/e2ee/users/"+me+"/bundles", ""); got == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("200 claims in a row were never rate limited")
	}
}
