package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/parley-chat/parley"
)

// PushOptions configure Web Push subscriptions (docs/notifications.md).
type PushOptions struct {
	// VAPIDPublicKey is the application server key browsers subscribe
	// with; empty: Web Push is off (subscribing answers unavailable).
	VAPIDPublicKey string
	// MaxSubscriptions per user; the oldest go beyond it. Default 10.
	MaxSubscriptions int
	// AllowInsecure admits http and private/loopback endpoints (tests only).
	AllowInsecure bool
	// MobilePlatforms are the mobile push services this server has
	// credentials for (mobile.go).
	MobilePlatforms []parley.PushPlatform
}

// WebPushTransport sends one Web Push message to one subscription
// (internal/webpush). It returns ErrSubscriptionGone when the push service
// no longer knows the subscription, an error wrapped by Permanent when
// retrying cannot help, any other error when a retry may.
type WebPushTransport interface {
	Send(ctx context.Context, sub parley.PushSubscription, payload []byte, topic, urgency string) error
}

// ErrSubscriptionGone: the push service answered 404 or 410.
var ErrSubscriptionGone = errors.New("push subscription gone")

// PushSubscriptionInput is a subscription as the browser's
// PushSubscription.toJSON() gives it.
type PushSubscriptionInput struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *int64   `json:"expirationTime"`
	Keys           PushKeys `json:"keys"`
}

// PushKeys are a subscription's keys (base64url).
type PushKeys struct {
	P256DH string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// VAPIDPublicKey returns the key browsers subscribe with. Errors:
// unauthenticated, unavailable (Web Push off).
func (a *App) VAPIDPublicKey(actor parley.Actor) (string, error) {
	if actor.Anonymous() {
		return "", unauthenticated("sign in first")
	}
	if a.push.VAPIDPublicKey == "" {
		return "", parley.Errorf(parley.CodeUnavailable, "Web Push is not enabled on this server")
	}
	return a.push.VAPIDPublicKey, nil
}

// AddPushSubscription stores a Web Push subscription of actor (replacing
// one with the same endpoint; beyond the per-user cap the oldest is
// dropped). Errors: unauthenticated, unavailable (Web Push off), invalid /
// too_large (endpoint: not https, a private or local host, too long;
// keys.p256dh, keys.auth).
func (a *App) AddPushSubscription(ctx context.Context, actor parley.Actor, in PushSubscriptionInput) (parley.PushSubscription, error) {
	if _, err := a.VAPIDPublicKey(actor); err != nil {
		return parley.PushSubscription{}, err
	}
	s := parley.PushSubscription{ID: parley.NewID(), UserID: actor.UserID, Endpoint: in.Endpoint,
		P256DH: strings.TrimRight(in.Keys.P256DH, "="), Auth: strings.TrimRight(in.Keys.Auth, "="), CreatedAt: a.now().UTC()}
	if err := parley.CheckPushSubscription(s, a.push.AllowInsecure); err != nil {
		return parley.PushSubscription{}, err
	}
	return a.store.AddPushSubscription(ctx, s, a.push.MaxSubscriptions)
}

// PushSubscriptions lists actor's subscriptions, oldest first.
func (a *App) PushSubscriptions(ctx context.Context, actor parley.Actor) ([]parley.PushSubscription, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return a.store.PushSubscriptions(ctx, actor.UserID)
}

// DeletePushSubscription deletes one of actor's subscriptions. Errors:
// unauthenticated, not_found (also for someone else's).
func (a *App) DeletePushSubscription(ctx context.Context, actor parley.Actor, id string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "no such subscription")
	}
	err := a.store.DeletePushSubscription(ctx, actor.UserID, id)
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.Errorf(parley.CodeNotFound, "no such subscription")
	}
	return err
}

// PushPayload is the JSON a Web Push message carries (decrypted by the
// browser and read by the service worker). Body is empty unless the user
// allows previews.
type PushPayload struct {
	V              int                 `json:"v"`
	ConversationID string              `json:"conversation_id"`
	Seq            int64               `json:"seq"`
	Title          string              `json:"title"`
	Sender         string              `json:"sender,omitempty"`
	Body           string              `json:"body,omitempty"`
	Reason         parley.NotifyReason `json:"reason"`
	Count          int                 `json:"count"`
	Unread         int64               `json:"unread"`
}

// webPushSender is the PushSender over Web Push subscriptions.
type webPushSender struct {
	a     *App
	t     WebPushTransport
	topic func(conversationID string) string
}

// NewWebPushSender returns a PushSender delivering to every Web Push
// subscription of the user through t; topic maps a conversation id to the
// Topic header. Subscriptions the push service says are gone are deleted.
func (a *App) NewWebPushSender(t WebPushTransport, topic func(conversationID string) string) PushSender {
	return &webPushSender{a: a, t: t, topic: topic}
}

// Push implements PushSender: one message per subscription. It fails (for
// a retry of the whole entry) only if a subscription failed in a way that
// may pass later; the others' copies then arrive twice, collapsed by the
// Topic and the notification tag.
func (w *webPushSender) Push(ctx context.Context, m PushMessage) (int, error) {
	subs, err := w.a.store.PushSubscriptions(ctx, m.UserID)
	if err != nil || len(subs) == 0 {
		return 0, err
	}
	payload, err := json.Marshal(PushPayload{V: 1, ConversationID: m.ConversationID, Seq: m.Seq, Title: m.Title,
		Sender: m.SenderName, Body: m.Body, Reason: m.Reason, Count: m.Count, Unread: m.Unread})
	if err != nil {
		return 0, err
	}
	urgency := "normal"
	if m.Reason != parley.ReasonMessage {
		urgency = "high"
	}
	sent := 0
	var retry error
	for _, s := range subs {
		err := w.t.Send(ctx, s, payload, w.topic(m.ConversationID), urgency)
		switch {
		case err == nil:
			sent++
		case errors.Is(err, ErrSubscriptionGone):
			if derr := w.a.store.DeletePushEndpoint(ctx, s.Endpoint); derr != nil {
				retry = derr
			}
			w.a.log.Info("push subscription gone; deleted", "user_id", m.UserID, "subscription_id", s.ID)
		case IsPermanent(err):
			w.a.log.Warn("push refused", "user_id", m.UserID, "subscription_id", s.ID, "err", err)
		default:
			retry = err
		}
	}
	return sent, retry
}
