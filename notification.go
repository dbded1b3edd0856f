package parley

import (
	"context"
	"time"
)

// NotifyChannel is the way a queued notification goes out.
type NotifyChannel string

const (
	ChannelPush  NotifyChannel = "push"  // every push device of the user (Web Push, FCM, APNs)
	ChannelEmail NotifyChannel = "email" // a digest to the user's verified address, some time later
)

// Notification is one entry of the durable notification queue: what a user
// is to be told about one conversation on one channel. Entries collapse: a
// newer message for the same (UserID, ConversationID, Channel) updates the
// pending entry (Seq, Count, Reason, Rev) instead of adding one.
type Notification struct {
	ID             string        `json:"id"`
	UserID         string        `json:"user_id"`
	ConversationID string        `json:"conversation_id"`
	Channel        NotifyChannel `json:"channel"`
	Seq            int64         `json:"seq"`    // the newest message it is about
	Count          int           `json:"count"`  // messages collapsed into it
	Reason         NotifyReason  `json:"reason"` // the strongest reason among them
	// Rev changes whenever the entry is updated by a newer message; a
	// delivery finishes or reschedules only the revision it delivered.
	Rev       int64     `json:"rev"`
	Attempts  int       `json:"attempts"` // deliveries begun
	NextAt    time.Time `json:"next_at"`  // due time (or end of the current lease)
	CreatedAt time.Time `json:"created_at"`
	LastError string    `json:"last_error,omitempty"`
}

// NotifyCursor is how far notifications of one conversation were derived:
// every message with seq <= NotifiedSeq has been considered; LastSeq is the
// conversation's head.
type NotifyCursor struct {
	ConversationID string
	NotifiedSeq    int64
	LastSeq        int64
}

// NotifyTarget is one member of a conversation with what the notification
// rule reads about them.
type NotifyTarget struct {
	UserID  string
	Role    MemberRole
	Muted   bool // the member's muted flag (MemberPatch.Muted): silenced for good
	ReadSeq int64
	Prefs   NotifyPrefs
	Conv    ConversationNotify
	Push    bool // has at least one Web Push subscription or mobile push device
	Email   bool // has an email address (whether it is verified is checked at delivery)
}

// NotifyStore keeps notification settings and the durable notification
// queue. Nothing here is written on the message path: a notifier derives
// entries from committed messages behind a per-conversation cursor.
type NotifyStore interface {
	// NotifyPrefs returns the user's settings (DefaultNotifyPrefs if never
	// set). CodeNotFound for an unknown user.
	NotifyPrefs(ctx context.Context, userID string) (NotifyPrefs, error)
	// SetNotifyPrefs replaces them. CodeNotFound for an unknown user.
	SetNotifyPrefs(ctx context.Context, userID string, p NotifyPrefs) error
	// ConversationNotify returns a member's setting for a conversation (zero
	// if never set). CodeNotFound if userID is not a member.
	ConversationNotify(ctx context.Context, conversationID, userID string) (ConversationNotify, error)
	// SetConversationNotify replaces it. CodeNotFound if not a member.
	SetConversationNotify(ctx context.Context, conversationID, userID string, c ConversationNotify) error
	// NotifyTargets returns every current member of the conversation with
	// their settings, in user id order.
	NotifyTargets(ctx context.Context, conversationID string) ([]NotifyTarget, error)

	// NotifyCursor returns the conversation's cursor (NotifiedSeq 0 if no
	// notification was ever derived). CodeNotFound for an unknown conversation.
	NotifyCursor(ctx context.Context, conversationID string) (NotifyCursor, error)
	// NotifyBacklog returns up to limit conversations whose head is past
	// their cursor, least recently active first.
	NotifyBacklog(ctx context.Context, limit int) ([]NotifyCursor, error)
	// AdvanceNotify atomically moves the conversation's cursor from from to
	// to and enqueues ns (each due at its NextAt; ID, Rev and Attempts are
	// assigned by the store), collapsing each into a pending entry of the
	// same user, conversation and channel if there is one: Seq becomes the
	// larger, Count the sum, Reason the stronger, Rev grows, Attempts and
	// LastError reset and NextAt becomes the new one's. CodeConflict (and
	// nothing written) if the cursor is no longer at from: another worker
	// derived that range.
	AdvanceNotify(ctx context.Context, conversationID string, from, to int64, ns []Notification) error
	// ClaimNotifications leases up to limit entries due at now (NextAt <=
	// now), oldest due first: each gets Attempts+1 and NextAt now+lease, so
	// a crashed worker's claim is retried once the lease ends. Concurrent
	// claimers never get the same entry within one lease. The result is in
	// CreatedAt order.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// FinishNotification removes the entry if it is still at rev (an entry
	// updated since stays queued: it holds news not yet delivered).
	FinishNotification(ctx context.Context, id string, rev int64) error
	// RetryNotification reschedules the entry, if still at rev, to next and
	// records lastErr.
	RetryNotification(ctx context.Context, id string, rev int64, next time.Time, lastErr string) error
	// PendingNotifications lists the user's queued entries, by conversation id.
	PendingNotifications(ctx context.Context, userID string) ([]Notification, error)
}
