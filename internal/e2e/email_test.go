package e2e_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/mail/smtptest"
	"github.com/parley-chat/parley/internal/server"
)

var linkRE = regexp.MustCompile(`(https?://\S+)\?token=([A-Za-z0-9_-]{43})`)

// mailTo waits for the next mail to addr and returns its link's path and token.
func mailTo(t *testing.T, sink *smtptest.Sink, seen *int, addr string) (subject, path, token string) {
	t.Helper()
	msgs := sink.Wait(*seen+1, 20*time.Second)
	if len(msgs) <= *seen {
		t.Fatalf("no mail to %s", addr)
	}
	m := msgs[*seen]
	*seen++
	if len(m.To) != 1 || m.To[0] != addr || !m.TLS || m.Authed != "parley" {
		t.Fatalf("mail %+v", m)
	}
	l := linkRE.FindStringSubmatch(m.Body)
	if l == nil {
		t.Fatalf("no link in %q", m.Body)
	}
	return m.Subject, l[1], l[2]
}

// TestEmailVerificationAndPasswordReset runs sign-up with required
// verification and a password reset through a real server and an
// in-process SMTP server (STARTTLS, AUTH).
func TestEmailVerificationAndPasswordReset(t *testing.T) {
	sink := smtptest.Start(t, "parley", "smtp-pw")
	env := apitest.Start(t, func(c *server.Config) {
		c.EmailVerification = "required"
		c.SMTPHost, c.SMTPPort, c.SMTPUsername, c.SMTPPassword = sink.Host, sink.Port, "parley", "smtp-pw"
		c.SMTPTLSConfig = sink.TLSConfig
		c.SMTPFrom = "Parley <noreply@example.org>"
		c.PublicURL = "https://chat.example.org"
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := 0
	anon := env.Client()
	call := func(method, path, token string, body any) int {
		t.Helper()
		return pushCall(t, env, method, path, token, body, nil)
	}

	if st := call("POST", "/api/v1/auth/register", "", map[string]string{"username": "bob", "password": "password123"}); st != 400 {
		t.Fatalf("sign-up without an address: %d", st)
	}
	var pending struct {
		User                 map[string]any `json:"user"`
		VerificationRequired bool           `json:"verification_required"`
		Token                string         `json:"token"`
	}
	if st := pushCall(t, env, "POST", "/api/v1/auth/register", "", map[string]string{"username": "bob", "password": "password123",
		"email": "bob@example.org"}, &pending); st != 202 || !pending.VerificationRequired || pending.Token != "" {
		t.Fatalf("sign-up: %d %+v", st, pending)
	}
	if _, err := anon.Login(ctx, "bob", "password123"); err == nil || !strings.Contains(err.Error(), "confirm your email") {
		t.Fatalf("sign-in before verifying: %v", err)
	}
	subject, path, token := mailTo(t, sink, &seen, "bob@example.org")
	if path != "https://chat.example.org/verify-email" || !strings.Contains(subject, "Confirm") {
		t.Fatalf("verification mail %q %q", subject, path)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43), token + "x"} {
		if st := call("POST", "/api/v1/auth/verify-email", "", map[string]string{"token": bad}); st != 400 {
			t.Fatalf("verify with %q: %d", bad, st)
		}
	}
	if st := call("POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token}); st != 204 {
		t.Fatalf("verify: %d", st)
	}
	if st := call("POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token}); st != 400 {
		t.Fatalf("the link worked twice: %d", st)
	}
	bob := env.Client()
	if _, err := bob.Login(ctx, "bob", "password123"); err != nil {
		t.Fatalf("sign-in after verifying: %v", err)
	}
	var st struct {
		Email    string `json:"email"`
		Verified bool   `json:"verified"`
	}
	if pushCall(t, env, "GET", "/api/v1/me/email", bob.Token(), nil, &st); !st.Verified || st.Email != "bob@example.org" {
		t.Fatalf("email status %+v", st)
	}

	// Password reset: the same answer for an unknown account, one mail per
	// request for bob, only the newest link works, once.
	for _, login := range []string{"bob", "nobody", "nobody@example.org", "BOB@example.org"} {
		if st := call("POST", "/api/v1/auth/password-reset", "", map[string]string{"login": login}); st != 202 {
			t.Fatalf("reset for %q: %d", login, st)
		}
	}
	_, _, first := mailTo(t, sink, &seen, "bob@example.org")
	subject, path, latest := mailTo(t, sink, &seen, "bob@example.org")
	if path != "https://chat.example.org/reset-password" || !strings.Contains(subject, "Reset") {
		t.Fatalf("reset mail %q %q", subject, path)
	}
	if st := call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": first, "password": "new-password-1"}); st != 400 {
		t.Fatalf("a replaced link worked: %d", st)
	}
	if st := call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": latest, "password": "short"}); st != 400 {
		t.Fatalf("a short password: %d", st)
	}
	if st := call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": latest, "password": "new-password-1"}); st != 204 {
		t.Fatalf("reset: %d", st)
	}
	if st := call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": latest, "password": "new-password-2"}); st != 400 {
		t.Fatalf("the reset link worked twice: %d", st)
	}
	if _, err := bob.Me(ctx); err == nil {
		t.Fatal("the old session survived the reset")
	}
	if _, err := env.Client().Login(ctx, "bob", "new-password-1"); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
	if _, err := env.Client().Login(ctx, "bob", "password123"); err == nil {
		t.Fatal("the old password still works")
	}
	if n := len(sink.Messages()); n != seen {
		t.Fatalf("%d mails, want %d (none for unknown accounts)", n, seen)
	}

	// A flood of requests from one address is refused; bad bodies too.
	limited := false
	for range 12 {
		if call("POST", "/api/v1/auth/password-reset", "", map[string]string{"login": "someone"}) == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("12 reset requests from one address were all accepted")
	}
	for _, body := range []any{map[string]any{"login": 5}, map[string]string{}, map[string]string{"login": strings.Repeat("a", 300)},
		map[string]string{"login": "bob", "extra": "x"}} {
		if st := call("POST", "/api/v1/auth/password-reset", "", body); st != 400 && st != 413 && st != 429 {
			t.Fatalf("bad body %v: %d", body, st)
		}
	}
}

// TestEmailVerificationOptional: the account works at once; resending
// needs an unverified address; a reset goes only to a verified address.
func TestEmailVerificationOptional(t *testing.T) {
	sink := smtptest.Start(t, "parley", "smtp-pw")
	env := apitest.Start(t, func(c *server.Config) {
		c.EmailVerification = "optional"
		c.SMTPHost, c.SMTPPort, c.SMTPUsername, c.SMTPPassword = sink.Host, sink.Port, "parley", "smtp-pw"
		c.SMTPTLSConfig = sink.TLSConfig
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := 0
	carol := env.Client()
	if _, err := carol.Register(ctx, client.RegisterRequest{Username: "carol", Password: "password123", Email: "carol@example.org"}); err != nil {
		t.Fatal(err)
	}
	_, path, token := mailTo(t, sink, &seen, "carol@example.org")
	if !strings.HasPrefix(path, env.URL+"/verify-email") {
		t.Fatalf("link %q does not point at the server (%s)", path, env.URL)
	}
	// Unverified: a reset request sends nothing.
	if st := pushCall(t, env, "POST", "/api/v1/auth/password-reset", "", map[string]string{"login": "carol"}, nil); st != 202 {
		t.Fatalf("reset: %d", st)
	}
	if st := pushCall(t, env, "POST", "/api/v1/me/email/verify", carol.Token(), nil, nil); st != 202 {
		t.Fatalf("resend: %d", st)
	}
	_, _, token2 := mailTo(t, sink, &seen, "carol@example.org")
	if st := pushCall(t, env, "POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token}, nil); st != 400 {
		t.Fatalf("the replaced verification link worked: %d", st)
	}
	if st := pushCall(t, env, "POST", "/api/v1/auth/verify-email", "", map[string]string{"token": token2}, nil); st != 204 {
		t.Fatalf("verify: %d", st)
	}
	if st := pushCall(t, env, "POST", "/api/v1/me/email/verify", carol.Token(), nil, nil); st != 400 {
		t.Fatalf("resend when verified: %d", st)
	}
	// A new address is unverified again, and gets its own link.
	email := "carol2@example.org"
	if _, err := carol.UpdateMe(ctx, client.ProfileUpdate{Email: &email}); err != nil {
		t.Fatal(err)
	}
	mailTo(t, sink, &seen, email)
	var st struct {
		Verified bool `json:"verified"`
	}
	if pushCall(t, env, "GET", "/api/v1/me/email", carol.Token(), nil, &st); st.Verified {
		t.Fatal("a changed address counts as verified")
	}
	if n := len(sink.Messages()); n != seen {
		t.Fatalf("%d mails, want %d", n, seen)
	}
}
