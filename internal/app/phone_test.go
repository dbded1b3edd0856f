package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sms"
	"github.com/parley-chat/parley/internal/sqlite"
)

// smsRecorder keeps the texts it is given.
type smsRecorder struct {
	mu    sync.Mutex
	texts []string
	to    []string
}

func (s *smsRecorder) Send(_ context.Context, to, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.to, s.texts = append(s.to, to), append(s.texts, text)
	return nil
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

func (s *smsRecorder) lastCode(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := codeRE.FindStringSubmatch(s.texts[len(s.texts)-1])
	if m == nil {
		t.Fatalf("no code in %q", s.texts[len(s.texts)-1])
	}
	return m[1]
}

func TestPhoneVerification(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	t.Cleanup(func() { _ = bus.Close(); _ = store.Close() })
	texts, clock := &smsRecorder{}, newClock()
	a := app.New(app.Options{Store: store, Bus: bus, Now: clock.Now, Limits: app.Limits{SignupsPerAddr: -1},
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}, SMS: texts})
	ctx := context.Background()
	u, tok, err := a.Register(ctx, app.RegisterInput{Username: "gina", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := a.Authenticate(ctx, tok)
	if err != nil || actor.UserID != u.ID {
		t.Fatal(err)
	}
	field := func(err error) string { return parley.AsError(err).Field }
	for _, bad := range []string{"", "0612345678", "+0612345678", "+33 6 12", "+33612345678x", "+1234567890123456"} {
		if err := a.SendPhoneCode(ctx, actor, bad); field(err) != "phone" {
			t.Errorf("phone %q: %v", bad, err)
		}
	}
	if err := a.SendPhoneCode(ctx, actor, "+33 (6) 12-34-56.78"); err != nil {
		t.Fatal(err)
	}
	if texts.to[0] != "+33612345678" {
		t.Fatalf("texted %v", texts.to)
	}
	code := texts.lastCode(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for _, bad := range []string{"12345", "abcdef", "1234567"} {
		if _, err := a.VerifyPhone(ctx, actor, bad); field(err) != "code" {
			t.Errorf("code %q: %v", bad, err)
		}
	}
	if _, err := a.VerifyPhone(ctx, actor, wrong); field(err) != "code" {
		t.Fatalf("a wrong code: %v", err)
	}
	clock.Add(app.PhoneCodeTTL)
	if _, err := a.VerifyPhone(ctx, actor, code); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("an expired code: %v", err)
	}
	// Five wrong codes void the code.
	if err := a.SendPhoneCode(ctx, actor, "+33612345678"); err != nil {
		t.Fatal(err)
	}
	code = texts.lastCode(t)
	for range app.PhoneCodeAttempts {
		_, _ = a.VerifyPhone(ctx, actor, wrong)
	}
	if _, err := a.VerifyPhone(ctx, actor, code); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("the right code after %d wrong ones: %v", app.PhoneCodeAttempts, err)
	}
	// Three codes an hour (refilled continuously: the 10 minutes above
	// gave half a code back).
	if err := a.SendPhoneCode(ctx, actor, "+33612345678"); err != nil {
		t.Fatal(err)
	}
	if err := a.SendPhoneCode(ctx, actor, "+33612345678"); !parley.IsCode(err, parley.CodeRateLimited) {
		t.Fatalf("a fourth code within the hour: %v", err)
	}
	clock.Add(time.Hour)
	if err := a.SendPhoneCode(ctx, actor, "+4915112345678"); err != nil {
		t.Fatal(err)
	}
	st, err := a.VerifyPhone(ctx, actor, texts.lastCode(t))
	if err != nil || st.Phone != "+4915112345678" || !st.Verified {
		t.Fatalf("verify %+v %v", st, err)
	}
	if st, _ := a.PhoneStatus(ctx, actor); st.Phone != "+4915112345678" {
		t.Fatalf("status %+v", st)
	}
}

func TestSMSLogSender(t *testing.T) {
	var buf bytes.Buffer
	l := sms.Log{L: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := l.Send(context.Background(), "+33612345678", "Parley code: 123456"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "123456") || !strings.Contains(buf.String(), "+33612345678") {
		t.Fatalf("log %q", buf.String())
	}
}
