// Package mail sends Parley's emails (verification links, password reset
// links, digests of missed mentions) over SMTP with github.com/wneessen/go-mail,
// or writes them to the log when no SMTP server is configured.
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // STARTTLS, required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text: only for a relay on the same machine or network
)

// Options configure an SMTP sender.
type Options struct {
	Host     string
	Port     int // default 587 (465 with TLSImplicit)
	Username string
	Password string // with Username: AUTH PLAIN/LOGIN, whichever the server offers
	From     string // envelope and header From
	TLS      string // TLSStartTLS (default), TLSImplicit or TLSNone
	// TLSConfig overrides the TLS settings (tests: trust a test CA).
	TLSConfig *tls.Config
	Timeout   time.Duration // per message; default 30s
}

// SMTP sends mail through one SMTP server. Safe for concurrent use: each
// message is sent on its own connection.
type SMTP struct{ o Options }

// NewSMTP checks o and returns a sender.
func NewSMTP(o Options) (*SMTP, error) {
	if o.Host == "" || o.From == "" {
		return nil, fmt.Errorf("mail: an SMTP host and a From address are required")
	}
	switch o.TLS {
	case "":
		o.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("mail: TLS mode must be starttls, tls or none")
	}
	if o.Port == 0 {
		o.Port = 587
		if o.TLS == TLSImplicit {
			o.Port = 465
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &SMTP{o: o}, nil
}

// Send sends one plain-text message to one recipient.
func (s *SMTP) Send(ctx context.Context, to, subject, text string) error {
	m := gomail.NewMsg()
	if err := m.From(s.o.From); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := m.To(to); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, text)
	opts := []gomail.Option{gomail.WithPort(s.o.Port), gomail.WithTimeout(s.o.Timeout)}
	switch s.o.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.o.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.o.TLSConfig))
	}
	if s.o.Username != "" {
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.o.Username), gomail.WithPassword(s.o.Password))
	}
	c, err := gomail.NewClient(s.o.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// Log "sends" mail by logging it: the links in it are then in the server's
// log. For development and servers without email; never for production
// with open sign-up, since anyone reading the log can use the links.
type Log struct{ L *slog.Logger }

// Send logs the message.
func (l Log) Send(_ context.Context, to, subject, text string) error {
	l.L.Warn("email not sent (no --smtp-host); its content follows", "to", to, "subject", subject, "text", text)
	return nil
}
