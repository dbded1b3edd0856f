package app

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// NotifyPrefs returns actor's notification settings.
func (a *App) NotifyPrefs(ctx context.Context, actor parley.Actor) (parley.NotifyPrefs, error) {
	if actor.Anonymous() {
		return parley.NotifyPrefs{}, unauthenticated("sign in first")
	}
	return a.store.NotifyPrefs(ctx, actor.UserID)
}

// SetNotifyPrefs replaces actor's notification settings (zero fields take
// their defaults). Errors: unauthenticated; invalid (level, time_zone,
// quiet_hours.start/end); too_large (time_zone).
func (a *App) SetNotifyPrefs(ctx context.Context, actor parley.Actor, p parley.NotifyPrefs) (parley.NotifyPrefs, error) {
	if actor.Anonymous() {
		return parley.NotifyPrefs{}, unauthenticated("sign in first")
	}
	p = p.Normalize()
	if err := p.Validate(); err != nil {
		return parley.NotifyPrefs{}, err
	}
	return p, a.store.SetNotifyPrefs(ctx, actor.UserID, p)
}

// ConversationNotify returns actor's notification setting for a
// conversation they are a member of. Errors: unauthenticated, not_found,
// forbidden (a public channel actor has not joined).
func (a *App) ConversationNotify(ctx context.Context, actor parley.Actor, convID string) (parley.ConversationNotify, error) {
	if actor.Anonymous() {
		return parley.ConversationNotify{}, unauthenticated("sign in first")
	}
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return parley.ConversationNotify{}, err
	}
	c, err := a.store.ConversationNotify(ctx, convID, actor.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return c, notFoundConversation()
	}
	if c.MutedUntil != nil && !c.MutedUntil.After(a.now()) {
		c.MutedUntil = nil // expired
	}
	return c, err
}

// MaxMuteFor bounds how far ahead muted_until may be.
const MaxMuteFor = 100 * 365 * 24 * time.Hour

// SetConversationNotify replaces actor's setting for a conversation. A
// muted_until in the past clears the mute. Errors: unauthenticated,
// not_found, forbidden, invalid (muted_until more than 100 years ahead).
func (a *App) SetConversationNotify(ctx context.Context, actor parley.Actor, convID string, c parley.ConversationNotify) (parley.ConversationNotify, error) {
	if actor.Anonymous() {
		return parley.ConversationNotify{}, unauthenticated("sign in first")
	}
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return parley.ConversationNotify{}, err
	}
	now := a.now()
	if c.MutedUntil != nil {
		switch {
		case !c.MutedUntil.After(now):
			c.MutedUntil = nil
		case c.MutedUntil.Sub(now) > MaxMuteFor:
			return parley.ConversationNotify{}, parley.Invalid("muted_until", "muted_until must be within 100 years")
		default:
			t := c.MutedUntil.UTC().Truncate(time.Millisecond)
			c.MutedUntil = &t
		}
	}
	err := a.store.SetConversationNotify(ctx, convID, actor.UserID, c)
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.ConversationNotify{}, notFoundConversation()
	}
	return c, err
}

// FocusTTL is how long a device's report of being focused holds unless
// renewed: a client in front of its user reports focus at least this often
// (the web client every minute), so a device that vanished without a word
// (a crashed node, a lost network) is pushed again after it.
const FocusTTL = 2 * time.Minute

// focusReport is the payload of an EventFocus.
type focusReport struct {
	UserID  string    `json:"user_id"`
	Device  string    `json:"device"` // node id + connection id
	Focused bool      `json:"focused"`
	Until   time.Time `json:"until"`
}

// ReportFocus records that a device (connection connID on this node) of
// actor is, or is no longer, focused and visible in front of its user. A
// user with a focused device is not pushed (docs/notifications.md). The
// report travels on the bus so the notifier of every node knows it.
func (a *App) ReportFocus(ctx context.Context, actor parley.Actor, connID string, focused bool) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	r := focusReport{UserID: actor.UserID, Device: a.node + "/" + connID, Focused: focused, Until: a.now().Add(FocusTTL)}
	frame, err := json.Marshal(r)
	if err != nil {
		return err
	}
	a.publish(ctx, parley.Event{Kind: parley.EventFocus, ConversationID: parley.FocusTopic(actor.UserID), Frame: frame})
	return nil
}

// focusSet is what a notifier knows of focused devices: user → device →
// until when the report holds.
type focusSet struct {
	mu sync.Mutex
	m  map[string]map[string]time.Time
}

func (f *focusSet) apply(r focusReport) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]map[string]time.Time{}
	}
	d := f.m[r.UserID]
	if !r.Focused {
		delete(d, r.Device)
		if len(d) == 0 {
			delete(f.m, r.UserID)
		}
		return
	}
	if d == nil {
		d = map[string]time.Time{}
		f.m[r.UserID] = d
	}
	d[r.Device] = r.Until
}

// focused reports whether any device of userID holds a focus report at now,
// forgetting the expired ones.
func (f *focusSet) focused(userID string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	yes := false
	for dev, until := range f.m[userID] {
		if until.After(now) {
			yes = true
		} else {
			delete(f.m[userID], dev)
		}
	}
	if !yes {
		delete(f.m, userID)
	}
	return yes
}
