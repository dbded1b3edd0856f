package app_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// mailRecorder is an app.Mailer that keeps what it is given (the SMTP
// sender itself is tested against an SMTP server in internal/mail).
type mailRecorder struct {
	mu   sync.Mutex
	sent []struct{ to, subject, text string }
}

func (m *mailRecorder) Send(_ context.Context, to, subject, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, struct{ to, subject, text string }{to, subject, text})
	return nil
}

func (m *mailRecorder) count() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.sent) }

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

func (m *mailRecorder) lastToken(t *testing.T) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 {
		t.Fatal("no mail")
	}
	l := tokenRE.FindStringSubmatch(m.sent[len(m.sent)-1].text)
	if l == nil {
		t.Fatalf("no token in %q", m.sent[len(m.sent)-1].text)
	}
	return l[1]
}

func newEmailApp(t *testing.T, policy parley.EmailVerification) (*app.App, *mailRecorder, *acctClock) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = store.Close() })
	m, clock := &mailRecorder{}, newClock()
	a := app.New(app.Options{Store: store, Bus: bus, Now: clock.Now, Limits: app.Limits{SignupsPerAddr: -1},
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()},
		Email:     app.EmailOptions{Mailer: m, Verification: policy, PublicURL: "https://chat.example.org/"}})
	return a, m, clock
}

func TestResetLinksExpireAndAreLimitedPerAccount(t *testing.T) {
	a, m, clock := newEmailApp(t, parley.EmailVerificationOff)
	ctx := context.Background()
	if _, _, err := a.Register(ctx, app.RegisterInput{Username: "dave", Password: "password123", Email: "dave@example.org"}); err != nil {
		t.Fatal(err)
	}
	if m.count() != 0 {
		t.Fatal("verification mail with verification off")
	}
	// Verification off: a reset goes to the unverified address.
	if err := a.RequestPasswordReset(ctx, app.EmailRequest{Login: "dave", Address: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	tok := m.lastToken(t)
	clock.Add(31 * time.Minute)
	if err := a.ResetPasswordWithLink(ctx, tok, "password456"); parley.AsError(err).Field != "token" {
		t.Fatalf("an expired link: %v", err)
	}
	// Three mails per account per hour; the fourth request is answered
	// alike and sends nothing.
	for range 3 {
		if err := a.RequestPasswordReset(ctx, app.EmailRequest{Login: "dave", Address: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RequestPasswordReset(ctx, app.EmailRequest{Login: "dave", Address: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	// The allowance is 3 an hour, refilled continuously: after the first
	// mail and 31 minutes it is full again, so 3 of the 4 requests mail.
	if m.count() != 4 {
		t.Fatalf("%d mails; want 4 (the first, then 3 of 4 requests)", m.count())
	}
	if err := a.ResetPasswordWithLink(ctx, m.lastToken(t), "password456"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, app.LoginInput{Username: "dave", Password: "password456"}); err != nil {
		t.Fatal(err)
	}
	// Verification off: the verification endpoints are unavailable.
	if err := a.RequestVerification(ctx, app.EmailRequest{Login: "dave"}); !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("verification request with verification off: %v", err)
	}
}

func TestVerificationLinkExpires(t *testing.T) {
	a, m, clock := newEmailApp(t, parley.EmailVerificationRequired)
	ctx := context.Background()
	u, tok, err := a.Register(ctx, app.RegisterInput{Username: "erin", Password: "password123", Email: "erin@example.org"})
	if err != nil || tok != "" {
		t.Fatalf("register %v %q %v", u, tok, err)
	}
	link := m.lastToken(t)
	clock.Add(49 * time.Hour)
	if err := a.VerifyEmail(ctx, link); parley.AsError(err).Field != "token" {
		t.Fatalf("an expired verification link: %v", err)
	}
	if _, _, err := a.Login(ctx, app.LoginInput{Username: "erin", Password: "password123"}); !parley.IsCode(err, parley.CodeForbidden) {
		t.Fatalf("sign-in unverified: %v", err)
	}
	if _, _, err := a.Login(ctx, app.LoginInput{Username: "erin", Password: "wrong-password"}); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("a wrong password must not reveal the verification state: %v", err)
	}
	if err := a.RequestVerification(ctx, app.EmailRequest{Login: "erin@example.org", Address: "192.0.2.2"}); err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyEmail(ctx, m.lastToken(t)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, app.LoginInput{Username: "erin", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
}
