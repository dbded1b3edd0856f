package mail

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/mail/smtptest"
)

func TestSMTPSendsThroughStartTLSWithAuth(t *testing.T) {
	sink := smtptest.Start(t, "parley", "s3cret")
	s, err := NewSMTP(Options{Host: sink.Host, Port: sink.Port, Username: "parley", Password: "s3cret",
		From: "Parley <noreply@example.org>", TLSConfig: sink.TLSConfig})
	if err != nil {
		t.Fatal(err)
	}
	text := "Hello,\n\nfollow https://chat.example.org/verify-email?token=abc_DEF-123 to verify. Ünïcode ✓\n"
	if err := s.Send(context.Background(), "bob@example.org", "Verify your address", text); err != nil {
		t.Fatal(err)
	}
	got := sink.Wait(1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("messages %+v", got)
	}
	m := got[0]
	if !m.TLS || m.Authed != "parley" || m.From != "noreply@example.org" || len(m.To) != 1 || m.To[0] != "bob@example.org" ||
		m.Subject != "Verify your address" || !strings.Contains(strings.ReplaceAll(m.Body, "\r\n", "\n"), strings.TrimSpace(text)) {
		t.Fatalf("message %+v", m)
	}
}

func TestSMTPRefusals(t *testing.T) {
	sink := smtptest.Start(t, "parley", "s3cret")
	ctx := context.Background()
	wrong, _ := NewSMTP(Options{Host: sink.Host, Port: sink.Port, Username: "parley", Password: "nope",
		From: "noreply@example.org", TLSConfig: sink.TLSConfig})
	if err := wrong.Send(ctx, "bob@example.org", "x", "y"); err == nil {
		t.Fatal("wrong password accepted")
	}
	untrusted, _ := NewSMTP(Options{Host: sink.Host, Port: sink.Port, Username: "parley", Password: "s3cret",
		From: "noreply@example.org"}) // the sink's certificate is not trusted
	if err := untrusted.Send(ctx, "bob@example.org", "x", "y"); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	ok, _ := NewSMTP(Options{Host: sink.Host, Port: sink.Port, Username: "parley", Password: "s3cret",
		From: "noreply@example.org", TLSConfig: sink.TLSConfig})
	for _, to := range []string{"", "not an address", "a@b\r\nBcc: x@y"} {
		if err := ok.Send(ctx, to, "x", "y"); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages got through", n)
	}
	if _, err := NewSMTP(Options{Host: "h", From: "f@example.org", TLS: "ssl3"}); err == nil {
		t.Fatal("bad TLS mode accepted")
	}
	if _, err := NewSMTP(Options{From: "f@example.org"}); err == nil {
		t.Fatal("no host accepted")
	}
}
