package e2e_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// rawDevice is a registration body with valid signatures (the X25519 keys
// are random bytes: the server does not check them beyond their size).
func rawDevice(t *testing.T, opks int) (string, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rnd := func() []byte {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return b
	}
	ikd, spk := rnd(), rnd()
	b64 := base64.StdEncoding.EncodeToString
	spkMsg := binary.BigEndian.AppendUint32([]byte("ParleySPK1"), 1)
	var ks []string
	for i := range opks {
		ks = append(ks, fmt.Sprintf(`{"id":%d,"key":"%s"}`, i+1, b64(rnd())))
	}
	return fmt.Sprintf(`{"name":"dev","identity_sign":"%s","identity_dh":"%s","identity_dh_sig":"%s",
		"signed_prekey":{"id":1,"key":"%s","sig":"%s"},"one_time_prekeys":[%s]}`,
		b64(pub), b64(ikd), b64(ed25519.Sign(priv, append([]byte("ParleyIKd1"), ikd...))),
		b64(spk), b64(ed25519.Sign(priv, append(spkMsg, spk...))), strings.Join(ks, ",")), priv
}

func signedPrekeyBody(priv ed25519.PrivateKey, id uint32) string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	msg := append(binary.BigEndian.AppendUint32([]byte("ParleySPK1"), id), k...)
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf(`{"id":%d,"key":"%s","sig":"%s"}`, id, b64(k), b64(ed25519.Sign(priv, msg)))
}

// TestAuthorizationMatrixE2EE: who may read a user's devices and claim their
// bundles (themselves, someone sharing a conversation, a contact; nobody
// else), and that device keys and the backup are their owner's alone.
func TestAuthorizationMatrixE2EE(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	const (
		self = iota
		sharer
		contact
		stranger
		anon
		roles
	)
	names := [roles]string{"self", "shares a conversation", "contact", "stranger", "anonymous"}
	var cs [roles]*client.Client
	var us [roles]parley.User
	for r := range anon {
		cs[r], us[r] = env.NewUser(t, fmt.Sprint("e2eeauthz", r))
	}
	if _, _, err := cs[sharer].CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "g",
		MemberIDs: []string{us[self].ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs[contact].RequestContact(ctx, us[self].ID); err != nil {
		t.Fatal(err)
	}
	if err := cs[self].AnswerContactRequest(ctx, us[contact].ID, true); err != nil {
		t.Fatal(err)
	}
	// A fresh device of self per row, so one role's call cannot change another's answer.
	n := 0
	device := func() (string, ed25519.PrivateKey) {
		n++
		body, priv := rawDevice(t, 3)
		var req client.RegisterDeviceRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		d, err := cs[self].RegisterDevice(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return d.ID, priv
	}
	const ok, noContent, notFound, unauth = 200, 204, 404, 401
	type row struct {
		name, method string
		path         func(dev string) string
		body         func(priv ed25519.PrivateKey) string
		want         [roles]int
	}
	user := func(rest string) func(string) string {
		return func(string) string { return "/api/v1/e2ee/users/" + us[self].ID + rest }
	}
	dev := func(rest string) func(string) string {
		return func(d string) string { return "/api/v1/e2ee/devices/" + d + rest }
	}
	static := func(s string) func(string) string { return func(string) string { return s } }
	rows := []row{
		{"list devices", "GET", user("/devices"), nil, [roles]int{ok, ok, ok, notFound, unauth}},
		{"claim bundles", "POST", user("/bundles"), nil, [roles]int{ok, ok, ok, notFound, unauth}},
		{"rotate signed prekey", "PUT", dev("/signed_prekey"), func(p ed25519.PrivateKey) string { return signedPrekeyBody(p, 2) },
			[roles]int{noContent, notFound, notFound, notFound, unauth}},
		{"upload prekeys", "POST", dev("/one_time_prekeys"),
			func(ed25519.PrivateKey) string {
				return `{"one_time_prekeys":[{"id":99,"key":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}]}`
			}, [roles]int{ok, notFound, notFound, notFound, unauth}},
		{"prekey count", "GET", dev("/prekey_count"), nil, [roles]int{ok, notFound, notFound, notFound, unauth}},
		{"delete device", "DELETE", dev(""), nil, [roles]int{noContent, notFound, notFound, notFound, unauth}},
		{"unknown user's devices", "GET", static("/api/v1/e2ee/users/" + parley.NewID() + "/devices"), nil,
			[roles]int{notFound, notFound, notFound, notFound, unauth}},
		{"own backup (none yet)", "GET", static("/api/v1/e2ee/backup"), nil, [roles]int{notFound, notFound, notFound, notFound, unauth}},
		{"store own backup", "PUT", static("/api/v1/e2ee/backup"), func(ed25519.PrivateKey) string { return `{"v":1,"ct":"AA=="}` },
			[roles]int{noContent, noContent, noContent, noContent, unauth}},
	}
	for _, rw := range rows {
		for r := range roles {
			d, priv := device()
			body := ""
			if rw.body != nil {
				body = rw.body(priv)
			}
			token := ""
			if r != anon {
				token = cs[r].Token()
			}
			if got := authzCall(t, env, rw.method, rw.path(d), token, body); got != rw.want[r] {
				t.Errorf("%s as %s: status %d, want %d", rw.name, names[r], got, rw.want[r])
			}
			if err := cs[self].DeleteDevice(ctx, d); err != nil && !parley.IsCode(err, parley.CodeNotFound) {
				t.Fatal(err)
			}
		}
	}
	// The backup stored above is each user's own: self reads its own, and
	// deleting twice is not_found the second time.
	for r := range anon {
		if got := authzCall(t, env, "GET", "/api/v1/e2ee/backup", cs[r].Token(), ""); got != ok {
			t.Errorf("read own backup as %s: %d", names[r], got)
		}
		if got := authzCall(t, env, "DELETE", "/api/v1/e2ee/backup", cs[r].Token(), ""); got != noContent {
			t.Errorf("delete own backup as %s: %d", names[r], got)
		}
		if got := authzCall(t, env, "DELETE", "/api/v1/e2ee/backup", cs[r].Token(), ""); got != notFound {
			t.Errorf("delete own backup again as %s: %d", names[r], got)
		}
	}
}
