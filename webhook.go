package parley

import (
	"context"
	"time"
)

// OutgoingWebhook sends a bot's events to a URL (docs/bots.md): every new
// message in a conversation the bot is a member of (but the bot's own), as
// a signed POST, retried from a durable queue. Secret signs the requests;
// it must be readable to sign, so it is stored as it is.
type OutgoingWebhook struct {
	ID        string    `json:"id"`
	BotID     string    `json:"bot_id"`
	URL       string    `json:"url"`
	Secret    string    `json:"-"`
	Disabled  bool      `json:"disabled"`
	Failures  int       `json:"failures"` // deliveries failed in a row (given up after every retry)
	CreatedAt time.Time `json:"created_at"`
}

// WebhookDelivery is one event on its way to an outgoing webhook, and its
// record in the delivery log.
type WebhookDelivery struct {
	ID            string    `json:"id"`
	WebhookID     string    `json:"webhook_id"`
	EventKey      string    `json:"event_key"` // what it is about (the message id): enqueued once per webhook
	Event         string    `json:"event"`     // "message.created"
	Payload       []byte    `json:"-"`
	Status        string    `json:"status"` // pending, delivered, failed
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LastStatus    int       `json:"last_status,omitempty"` // HTTP status of the last attempt, 0 if none came
	LastError     string    `json:"last_error,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Outgoing webhook limits.
const (
	OutgoingWebhooksPerBot = 5
	WebhookURLMaxLen       = 2048
)

// OutgoingWebhookStore persists outgoing webhooks and their delivery queue.
type OutgoingWebhookStore interface {
	// CreateOutgoingWebhook inserts w unless its bot has
	// OutgoingWebhooksPerBot (CodeConflict).
	CreateOutgoingWebhook(ctx context.Context, w OutgoingWebhook) error
	// OutgoingWebhooks lists a bot's webhooks, newest first.
	OutgoingWebhooks(ctx context.Context, botID string) ([]OutgoingWebhook, error)
	// ActiveOutgoingWebhooks lists every enabled webhook of every bot.
	ActiveOutgoingWebhooks(ctx context.Context) ([]OutgoingWebhook, error)
	// EnableOutgoingWebhook re-enables one of botID's webhooks: Disabled
	// false and Failures 0 (deliveries that failed stay failed). It returns
	// the webhook; CodeNotFound when botID has no such webhook.
	EnableOutgoingWebhook(ctx context.Context, botID, id string) (OutgoingWebhook, error)
	// DeleteOutgoingWebhook removes one of botID's webhooks and its queue.
	DeleteOutgoingWebhook(ctx context.Context, botID, id string) error
	// EnqueueDelivery inserts d unless a delivery with its WebhookID and
	// EventKey exists (then false: every node may try, one enqueues).
	EnqueueDelivery(ctx context.Context, d WebhookDelivery) (bool, error)
	// ClaimDeliveries takes up to limit pending deliveries due at `now`
	// (NextAttemptAt <= now), oldest first, and pushes their NextAttemptAt
	// to now+lease so that no other worker takes them meanwhile.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	// FinishAttempt stores d's new state (Status, Attempts, NextAttemptAt,
	// LastStatus, LastError, UpdatedAt). For a delivery that ended in
	// failure it adds one to its webhook's Failures and disables the
	// webhook at disableAfter, failing its other pending deliveries ("webhook
	// disabled"); a delivered one resets Failures.
	FinishAttempt(ctx context.Context, d WebhookDelivery, disableAfter int) error
	// Deliveries lists a webhook's deliveries, newest first.
	Deliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error)
}
