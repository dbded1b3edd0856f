// Package sms holds Parley's SMS senders. Only the log sender exists: a
// vendor (Twilio, Vonage, an SMPP gateway…) plugs in as another type with
// the same Send method (app.SMSSender), wired in internal/server.
package sms

import (
	"context"
	"log/slog"
)

// Log "sends" a text message by writing it to the log (with the code in
// it): for development and tests, never for production.
type Log struct{ L *slog.Logger }

// Send logs the message.
func (l Log) Send(_ context.Context, to, text string) error {
	l.L.Warn("SMS not sent (no SMS provider); its content follows", "to", to, "text", text)
	return nil
}
