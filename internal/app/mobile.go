package app

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/parley-chat/parley"
)

// MobileNotification is what a mobile device shows for a PushMessage.
type MobileNotification struct {
	Title       string
	Body        string
	Badge       int
	CollapseKey string
	Data        map[string]string
	High        bool
}

// MobileTransport sends to one mobile device through its platform's push
// service (internal/mobilepush: FCM, APNs). Errors as WebPushTransport's:
// ErrSubscriptionGone deletes the device, Permanent gives up, others retry.
type MobileTransport interface {
	Send(ctx context.Context, d parley.PushDevice, n MobileNotification) error
}

// PushText is the title and body a notification shows: the message text
// only when the user allows previews (m.Body is empty otherwise).
func PushText(m PushMessage) (title, body string) {
	title = m.Title
	if title == "" {
		title = "Parley"
	}
	n := "New message"
	if m.Count > 1 {
		n = strconv.Itoa(m.Count) + " new messages"
	}
	switch {
	case m.Body != "" && m.SenderName != "" && m.SenderName != m.Title:
		body = m.SenderName + ": " + m.Body
	case m.Body != "":
		body = m.Body
	case m.Reason == parley.ReasonMention:
		body = m.SenderName + " mentioned you"
	case m.Reason == parley.ReasonDirect || m.SenderName == "":
		body = n
	default:
		body = n + " from " + m.SenderName
	}
	return title, body
}

// mobileSender is the PushSender over registered mobile devices.
type mobileSender struct {
	a *App
	t MobileTransport
}

// NewMobileSender returns a PushSender delivering to every mobile device
// of the user through t.
func (a *App) NewMobileSender(t MobileTransport) PushSender { return &mobileSender{a: a, t: t} }

func (s *mobileSender) Push(ctx context.Context, m PushMessage) (int, error) {
	devs, err := s.a.store.PushDevices(ctx, m.UserID)
	if err != nil || len(devs) == 0 {
		return 0, err
	}
	title, body := PushText(m)
	n := MobileNotification{Title: title, Body: body, Badge: int(m.Unread), CollapseKey: m.ConversationID,
		High: m.Reason != parley.ReasonMessage, Data: map[string]string{"conversation_id": m.ConversationID,
			"seq": strconv.FormatInt(m.Seq, 10), "reason": string(m.Reason), "unread": strconv.FormatInt(m.Unread, 10)}}
	sent := 0
	var retry error
	for _, d := range devs {
		err := s.t.Send(ctx, d, n)
		switch {
		case err == nil:
			sent++
		case errors.Is(err, ErrSubscriptionGone):
			if derr := s.a.store.DeletePushToken(ctx, d.Platform, d.Token); derr != nil {
				retry = derr
			}
			s.a.log.Info("push device gone; deleted", "user_id", m.UserID, "device_id", d.ID, "platform", d.Platform)
		case IsPermanent(err):
			s.a.log.Warn("push refused", "user_id", m.UserID, "device_id", d.ID, "err", err)
		default:
			retry = err
		}
	}
	return sent, retry
}

// multiSender pushes through several senders.
type multiSender []PushSender

// CombinePushSenders returns a PushSender that pushes through each of ss
// (nil ones skipped): it fails if any fails in a way worth a retry.
func CombinePushSenders(ss ...PushSender) PushSender {
	var out multiSender
	for _, s := range ss {
		if s != nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

func (m multiSender) Push(ctx context.Context, p PushMessage) (int, error) {
	sent := 0
	var errs []error
	for _, s := range m {
		n, err := s.Push(ctx, p)
		sent += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sent, errors.Join(errs...)
}

// RegisterPushDevice stores a mobile device token of actor (replacing the
// same token; beyond the per-user cap the oldest goes). Errors:
// unauthenticated; invalid (platform, token); too_large (token);
// unavailable (the server has no credentials for that platform).
func (a *App) RegisterPushDevice(ctx context.Context, actor parley.Actor, platform parley.PushPlatform, token string) (parley.PushDevice, error) {
	if actor.Anonymous() {
		return parley.PushDevice{}, unauthenticated("sign in first")
	}
	d := parley.PushDevice{ID: parley.NewID(), UserID: actor.UserID, Platform: platform, Token: token, CreatedAt: a.now().UTC()}
	if err := parley.CheckPushDevice(d); err != nil {
		return parley.PushDevice{}, err
	}
	if !slices.Contains(a.push.MobilePlatforms, platform) {
		return parley.PushDevice{}, parley.Errorf(parley.CodeUnavailable, "this server does not send %s notifications", platform)
	}
	return a.store.AddPushDevice(ctx, d, a.push.MaxSubscriptions)
}

// PushDevices lists actor's mobile devices.
func (a *App) PushDevices(ctx context.Context, actor parley.Actor) ([]parley.PushDevice, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return a.store.PushDevices(ctx, actor.UserID)
}

// DeletePushDevice deletes one of actor's devices. Errors: unauthenticated,
// not_found (also someone else's).
func (a *App) DeletePushDevice(ctx context.Context, actor parley.Actor, id string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "no such device")
	}
	err := a.store.DeletePushDevice(ctx, actor.UserID, id)
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.Errorf(parley.CodeNotFound, "no such device")
	}
	return err
}
