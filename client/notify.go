package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-chat/parley"
)

// NotifyPrefs returns the caller's notification settings.
func (c *Client) NotifyPrefs(ctx context.Context) (parley.NotifyPrefs, error) {
	var out parley.NotifyPrefs
	_, err := c.do(ctx, http.MethodGet, "/api/v1/me/notifications", nil, nil, &out)
	return out, err
}

// SetNotifyPrefs replaces the caller's notification settings.
func (c *Client) SetNotifyPrefs(ctx context.Context, p parley.NotifyPrefs) (parley.NotifyPrefs, error) {
	var out parley.NotifyPrefs
	_, err := c.do(ctx, http.MethodPut, "/api/v1/me/notifications", nil, p, &out)
	return out, err
}

// ConversationNotify returns the caller's notification setting for a
// conversation.
func (c *Client) ConversationNotify(ctx context.Context, conversationID string) (parley.ConversationNotify, error) {
	var out parley.ConversationNotify
	_, err := c.do(ctx, http.MethodGet, "/api/v1/conversations/"+url.PathEscape(conversationID)+"/notifications", nil, nil, &out)
	return out, err
}

// SetConversationNotify replaces it.
func (c *Client) SetConversationNotify(ctx context.Context, conversationID string, n parley.ConversationNotify) (parley.ConversationNotify, error) {
	var out parley.ConversationNotify
	_, err := c.do(ctx, http.MethodPut, "/api/v1/conversations/"+url.PathEscape(conversationID)+"/notifications", nil, n, &out)
	return out, err
}

// VAPIDKey returns the server's Web Push application server key (base64url).
func (c *Client) VAPIDKey(ctx context.Context) (string, error) {
	var out struct {
		PublicKey string `json:"public_key"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/push/vapid-key", nil, nil, &out)
	return out.PublicKey, err
}

// PushSubscriptionRequest is a browser's PushSubscription.toJSON().
type PushSubscriptionRequest struct {
	Endpoint       string `json:"endpoint"`
	ExpirationTime *int64 `json:"expirationTime"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// AddPushSubscription stores a Web Push subscription of the caller.
func (c *Client) AddPushSubscription(ctx context.Context, req PushSubscriptionRequest) (parley.PushSubscription, error) {
	var out parley.PushSubscription
	_, err := c.do(ctx, http.MethodPost, "/api/v1/push/subscriptions", nil, req, &out)
	return out, err
}

// PushSubscriptions lists the caller's Web Push subscriptions.
func (c *Client) PushSubscriptions(ctx context.Context) ([]parley.PushSubscription, error) {
	var out struct {
		Subscriptions []parley.PushSubscription `json:"subscriptions"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/push/subscriptions", nil, nil, &out)
	return out.Subscriptions, err
}

// DeletePushSubscription deletes one of the caller's subscriptions.
func (c *Client) DeletePushSubscription(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/push/subscriptions/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// PushDeviceRequest registers a mobile app's push token.
type PushDeviceRequest struct {
	Platform parley.PushPlatform `json:"platform"`
	Token    string              `json:"token"`
}

// AddPushDevice registers a mobile device of the caller.
func (c *Client) AddPushDevice(ctx context.Context, req PushDeviceRequest) (parley.PushDevice, error) {
	var out parley.PushDevice
	_, err := c.do(ctx, http.MethodPost, "/api/v1/push/devices", nil, req, &out)
	return out, err
}

// PushDevices lists the caller's mobile devices.
func (c *Client) PushDevices(ctx context.Context) ([]parley.PushDevice, error) {
	var out struct {
		Devices []parley.PushDevice `json:"devices"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/push/devices", nil, nil, &out)
	return out.Devices, err
}

// DeletePushDevice unregisters one of the caller's devices.
func (c *Client) DeletePushDevice(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/push/devices/"+url.PathEscape(id), nil, nil, nil)
	return err
}
