package xmpp_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
)

// plainAuth negotiates TLS and sends SASL PLAIN; it returns the server's
// answer element name (success or failure).
func plainAuth(t *testing.T, addr, user, password string) string {
	t.Helper()
	r := dialRaw(t, addr)
	r.send(header)
	r.expect("</stream:features>")
	r.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	r.expect("<proceed")
	r.expect("/>")
	tc := tls.Client(r.c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test server's self-signed certificate
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	r.c = tc
	r.buf.Reset()
	r.send(header)
	r.expect("</stream:features>")
	r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)) + "</auth>")
	got := r.expect(">")
	switch {
	case strings.Contains(got, "<success"):
		return "success"
	case strings.Contains(got, "<failure"):
		return "failure"
	}
	return got
}

// An account with two-factor sign-in cannot sign in over XMPP with its
// password, and can with an app password.
func TestTwoFactorAccountUsesAppPassword(t *testing.T) {
	env, addr := startXMPP(t, nil)
	ctx := context.Background()
	c, _ := env.NewUser(t, "tfauser")
	if got := plainAuth(t, addr, "tfauser", apitest.Password); got != "success" {
		t.Fatalf("PLAIN before 2FA: %s", got)
	}
	en, err := c.BeginTwoFactor(ctx, apitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := app.TOTPCode(en.Secret, time.Now())
	if _, err := c.ConfirmTwoFactor(ctx, code); err != nil {
		t.Fatal(err)
	}
	if got := plainAuth(t, addr, "tfauser", apitest.Password); got != "failure" {
		t.Fatalf("PLAIN with the account password of a 2FA account: %s", got)
	}
	_, pw, err := c.CreateAppPassword(ctx, "xmpp app", apitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	if got := plainAuth(t, addr, "tfauser", pw); got != "success" {
		t.Fatalf("PLAIN with an app password: %s", got)
	}
}
