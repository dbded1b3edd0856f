package server

import (
	"context"
	"log/slog"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/sms"
)

// NewApp builds the App a node runs on store and bus from cfg: limits,
// password cost, media, registration policy. It is the one place an App is
// configured: `parley serve` and `parley admin` both use it. runtime may be
// nil. The returned close function stops nothing the caller opened (store
// and bus stay the caller's).
func NewApp(ctx context.Context, cfg Config, store parley.Store, bus parley.Bus, log *slog.Logger,
	runtime func(*app.Overview)) (*app.App, error) {
	limits := app.DefaultLimits()
	limits.MaxMessageChars = cfg.MaxMessage
	limits.SessionTTL = cfg.SessionTTL
	limits.MessagesPerUserSecond = cfg.SendRate
	limits.MaxReactionsPerMsg = cfg.MaxReactions
	limits.MaxMembers = cfg.MaxMembers
	limits.SignupsPerAddr = cfg.SignupsPerHour
	if cfg.SignupsPerHour == 0 {
		limits.SignupsPerAddr = -1 // no limit
	}
	media, err := openMedia(ctx, cfg)
	if err != nil {
		return nil, err
	}
	push, err := pushOptions(ctx, cfg, store)
	if err != nil {
		return nil, err
	}
	email, err := emailOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	return app.New(app.Options{Store: store, Bus: bus, Logger: log, Limits: limits, Push: push, Email: email, SMS: sms.Log{L: log},
		Passwords: app.PasswordOptions{Params: cfg.PasswordParams}, Media: media,
		Registration: parley.RegistrationPolicy(cfg.Registration), Runtime: runtime, ScramKeys: cfg.XMPP != "",
		ICE:       app.ICEOptions{URLs: cfg.ICEURLs, Secret: cfg.TURNSecret, TTL: cfg.TURNTTL},
		TwoFactor: app.TwoFactorOptions{Required: cfg.Require2FA},
		Webhooks: app.WebhookOptions{AllowPrivate: cfg.WebhooksAllowPrivate, RetryBase: cfg.WebhookRetryBase,
			MaxAttempts: cfg.WebhookMaxAttempts}}), nil
}
