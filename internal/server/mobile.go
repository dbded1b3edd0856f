package server

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/mobilepush"
)

// mobilePlatforms lists the platforms cfg has credentials for.
func mobilePlatforms(cfg Config) []parley.PushPlatform {
	var ps []parley.PushPlatform
	if cfg.FCMCredentials != "" {
		ps = append(ps, parley.PlatformFCM)
	}
	if cfg.APNsKey != "" {
		ps = append(ps, parley.PlatformAPNs)
	}
	return ps
}

// mobileTransport sends to a device with its platform's sender.
type mobileTransport map[parley.PushPlatform]mobilepush.Sender

func (t mobileTransport) Send(ctx context.Context, d parley.PushDevice, n app.MobileNotification) error {
	s := t[d.Platform]
	if s == nil {
		return app.Permanent(fmt.Errorf("no %s credentials", d.Platform))
	}
	err := s.Send(ctx, d.Token, mobilepush.Notification{Title: n.Title, Body: n.Body, Badge: n.Badge,
		CollapseKey: n.CollapseKey, Data: n.Data, High: n.High})
	var se *mobilepush.StatusError
	switch {
	case errors.Is(err, mobilepush.ErrGone):
		return app.ErrSubscriptionGone
	case errors.As(err, &se) && !se.Retryable:
		return app.Permanent(err)
	}
	return err
}

// mobileSender builds the FCM and APNs senders cfg configures (nil if none).
func (s *Server) mobileSender() (app.PushSender, error) {
	cfg, o := s.cfg, s.cfg.MobilePush
	t := mobileTransport{}
	if cfg.FCMCredentials != "" {
		creds, err := os.ReadFile(cfg.FCMCredentials) // #nosec G304 -- the operator names the file
		if err != nil {
			return nil, fmt.Errorf("fcm-credentials: %w", err)
		}
		f, err := mobilepush.NewFCM(mobilepush.FCMOptions{Credentials: creds, Endpoint: o.FCMEndpoint,
			TokenURL: o.FCMTokenURL, Client: o.Client})
		if err != nil {
			return nil, err
		}
		t[parley.PlatformFCM] = f
	}
	if cfg.APNsKey != "" {
		key, err := os.ReadFile(cfg.APNsKey) // #nosec G304 -- the operator names the file
		if err != nil {
			return nil, fmt.Errorf("apns-key: %w", err)
		}
		a, err := mobilepush.NewAPNs(mobilepush.APNsOptions{Key: key, KeyID: cfg.APNsKeyID, TeamID: cfg.APNsTeamID,
			Topic: cfg.APNsTopic, Sandbox: cfg.APNsSandbox, Endpoint: o.APNsEndpoint, Client: o.Client})
		if err != nil {
			return nil, err
		}
		t[parley.PlatformAPNs] = a
	}
	if len(t) == 0 {
		return nil, nil
	}
	return s.App.NewMobileSender(t), nil
}
