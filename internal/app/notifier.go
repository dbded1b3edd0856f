package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// PushMessage is what a push sender delivers for one queue entry: the
// newest news of one conversation for one user. Body is empty unless the
// user allows previews.
type PushMessage struct {
	UserID         string
	ConversationID string
	Seq            int64
	Reason         parley.NotifyReason
	Count          int    // messages collapsed into this notification
	Unread         int64  // messages in the conversation after the user's read mark
	Title          string // the conversation's title, or the sender's name in a direct conversation
	SenderName     string
	Body           string
}

// PushSender delivers a PushMessage to every push device of the user (Web
// Push subscriptions, FCM and APNs tokens). It returns how many devices
// took it; an error wrapped by Permanent is not retried, any other error is
// (the entry stays queued with backoff). A user without devices is not an
// error (0, nil).
type PushSender interface {
	Push(ctx context.Context, m PushMessage) (int, error)
}

// permanentError marks a delivery failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the notifier gives the entry up at once.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err (or one it wraps) was made by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// NotifyMetrics records the notifier's work; *metrics.Metrics implements it.
type NotifyMetrics interface {
	NotifyEnqueued(n int)
	NotifySent(channel string, n int)
	NotifyFailed(channel string)
	NotifyRetried(channel string)
	NotifySkipped(channel, why string)
}

// NotifierOptions configure a Notifier; zero durations take the defaults shown.
type NotifierOptions struct {
	Push     PushSender      // nil: entries are dropped unsent (nothing to send with)
	Presence parley.Presence // for @here; nil: nobody counts as online
	Metrics  NotifyMetrics   // may be nil
	Poll     time.Duration   // how often the queue is read when nothing woke the notifier; 2s
	Sweep    time.Duration   // how often every conversation's cursor is checked; 30s
	Lease    time.Duration   // how long a claimed entry is held before another worker may retry it; 1m
	Workers  int             // deliveries in flight; 8
	Gather   time.Duration   // how long news is gathered before a round of derivation; 200ms
}

// Notifier turns committed messages into notifications and delivers them.
// It never touches the message path: it learns of new messages from the
// bus (a hint) and from a periodic sweep of the per-conversation cursors
// (the guarantee), derives queue entries from the stored history with
// parley.NotifyFor, and commits them together with the cursor. Deliveries
// are at least once: an entry leaves the queue only after its sender
// succeeded, failed for good, or ran out of attempts (parley.NotifyMaxAttempts).
// Any number of nodes may run one against the same store.
type Notifier struct {
	a     *App
	o     NotifierOptions
	focus focusSet

	mu     sync.Mutex
	dirty  map[string]bool       // conversations the bus said have news
	passed map[string]passedMark // cursors moved in memory only (Derive)
	wake   chan struct{}
}

// NewNotifier returns a notifier over a's store and bus. Start it with Run.
func NewNotifier(a *App, o NotifierOptions) *Notifier {
	orDefault(&o.Poll, 2*time.Second)
	orDefault(&o.Sweep, 30*time.Second)
	orDefault(&o.Lease, time.Minute)
	orDefault(&o.Workers, 8)
	orDefault(&o.Gather, 200*time.Millisecond)
	return &Notifier{a: a, o: o, dirty: map[string]bool{}, passed: map[string]passedMark{}, wake: make(chan struct{}, 1)}
}

// HandleEvent takes the bus events the notifier cares about: new messages
// (a hint to derive now) and focus reports. Subscribe it to the Bus.
func (n *Notifier) HandleEvent(e parley.Event) {
	switch e.Kind {
	case parley.EventMessage:
		n.mu.Lock()
		n.dirty[e.ConversationID] = true
		n.mu.Unlock()
		n.kick()
	case parley.EventFocus:
		var r focusReport
		if json.Unmarshal(e.Frame, &r) == nil && r.UserID != "" {
			n.focus.apply(r)
		}
	}
}

func (n *Notifier) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	poll := time.NewTicker(n.o.Poll)
	defer poll.Stop()
	sweep := time.NewTicker(n.o.Sweep)
	defer sweep.Stop()
	n.sweep(ctx) // what was committed while no notifier ran
	for {
		n.deriveDirty(ctx)
		n.Dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
			// Gather what else arrives meanwhile: one round per Gather
			// at most, so a burst of messages costs one derivation per
			// conversation and the notifier stays out of the senders' way.
			select {
			case <-ctx.Done():
				return
			case <-time.After(n.o.Gather):
			}
		case <-poll.C:
		case <-sweep.C:
			n.flushPassed(ctx)
			n.sweep(ctx)
		}
	}
}

// sweep derives every conversation whose cursor is behind its head.
func (n *Notifier) sweep(ctx context.Context) {
	for ctx.Err() == nil {
		backlog, err := n.a.store.NotifyBacklog(ctx, 100)
		if err != nil {
			if ctx.Err() == nil {
				n.a.log.Warn("notification backlog", "err", err)
			}
			return
		}
		progress := false
		for _, c := range backlog {
			before := c.NotifiedSeq
			if err := n.Derive(ctx, c.ConversationID); err != nil && ctx.Err() == nil {
				n.a.log.Warn("deriving notifications", "conversation_id", c.ConversationID, "err", err)
				continue
			}
			if cur, err := n.a.store.NotifyCursor(ctx, c.ConversationID); err == nil && cur.NotifiedSeq > before {
				progress = true
			}
		}
		if len(backlog) < 100 || !progress {
			return
		}
	}
}

func (n *Notifier) deriveDirty(ctx context.Context) {
	n.mu.Lock()
	ids := make([]string, 0, len(n.dirty))
	for id := range n.dirty {
		ids = append(ids, id)
	}
	clear(n.dirty)
	now := n.a.now()
	kept := ids[:0]
	for _, id := range ids {
		// A conversation nobody could be reached in is looked at again
		// only after unreachableRecheck: its news waits (still dirty).
		if p, ok := n.passed[id]; ok && now.Sub(p.At) < unreachableRecheck && !now.Before(p.At) {
			n.dirty[id] = true
			continue
		}
		kept = append(kept, id)
	}
	ids = kept
	n.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := n.Derive(ctx, id); err != nil && !parley.IsCode(err, parley.CodeNotFound) && ctx.Err() == nil {
			n.a.log.Warn("deriving notifications", "conversation_id", id, "err", err)
		}
	}
}

// deriveBatch is how many messages one derivation step reads.
const deriveBatch = 200

// Derive enqueues the notifications of a conversation's messages after its
// cursor and moves the cursor past them, in steps of deriveBatch messages.
// A step another worker took first (CodeConflict) is not an error.
//
// When no member can be reached (no push subscription or device, and no
// email for digests) the messages are not read and the cursor moves only
// in memory (n.passed); flushPassed stores it at the next sweep. A crash
// before then derives those messages again, which again yields nothing
// unless a member became reachable meanwhile.
func (n *Notifier) Derive(ctx context.Context, convID string) error {
	for {
		cur, err := n.a.store.NotifyCursor(ctx, convID)
		if err != nil {
			return err
		}
		from := n.passedFrom(convID, cur.NotifiedSeq)
		if cur.LastSeq <= from {
			return nil
		}
		targets, err := n.a.store.NotifyTargets(ctx, convID)
		if err != nil {
			return err
		}
		if !n.anyReachable(targets) {
			n.pass(convID, cur.NotifiedSeq, cur.LastSeq)
			return nil
		}
		conv, err := n.a.store.Conversation(ctx, convID)
		if err != nil {
			return err
		}
		msgs, err := n.a.store.History(ctx, convID, parley.HistoryQuery{After: from, Limit: deriveBatch})
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		entries := n.derive(ctx, conv, msgs, targets)
		err = n.a.store.AdvanceNotify(ctx, convID, cur.NotifiedSeq, msgs[len(msgs)-1].Seq, entries)
		if parley.IsCode(err, parley.CodeConflict) {
			continue // another worker took this range; look again
		}
		if err != nil {
			return err
		}
		n.mu.Lock()
		delete(n.passed, convID)
		n.mu.Unlock()
		if n.o.Metrics != nil && len(entries) > 0 {
			n.o.Metrics.NotifyEnqueued(len(entries))
		}
		if len(entries) > 0 {
			n.kick()
		}
	}
}

// unreachableRecheck is how long news in a conversation where nobody could
// be reached waits before the members are looked at again: the delay of the
// first notification after someone there subscribes to push.
const unreachableRecheck = 5 * time.Second

// passedMark is a cursor moved in memory only: the stored cursor was at
// From, and the messages up to To needed no notification, as read At.
type passedMark struct {
	From, To int64
	At       time.Time
}

// passedFrom returns where derivation continues for a conversation whose
// stored cursor is at stored.
func (n *Notifier) passedFrom(convID string, stored int64) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.passed[convID]; ok && p.From == stored && p.To > stored {
		return p.To
	}
	return stored
}

func (n *Notifier) pass(convID string, stored, to int64) {
	n.mu.Lock()
	n.passed[convID] = passedMark{From: stored, To: to, At: n.a.now()}
	n.mu.Unlock()
}

// flushPassed stores the cursors moved in memory (a conflict means another
// worker moved the cursor: nothing to do).
func (n *Notifier) flushPassed(ctx context.Context) {
	n.mu.Lock()
	marks := n.passed
	n.passed = map[string]passedMark{}
	n.mu.Unlock()
	for conv, p := range marks {
		err := n.a.store.AdvanceNotify(ctx, conv, p.From, p.To, nil)
		if err != nil && !parley.IsCode(err, parley.CodeConflict) && !parley.IsCode(err, parley.CodeNotFound) && ctx.Err() == nil {
			n.a.log.Warn("storing a notification cursor", "conversation_id", conv, "err", err)
		}
	}
}

// reachable reports whether t may be sent anything: a push subscription or
// device, or an address for the email digest when digests are on.
func (n *Notifier) reachable(t parley.NotifyTarget) (push, email bool) {
	digest := n.a.mail.o.DigestAfter > 0 && n.a.mail.o.Mailer != nil
	return t.Push && n.o.Push != nil, t.Email && digest
}

func (n *Notifier) anyReachable(ts []parley.NotifyTarget) bool {
	for _, t := range ts {
		if p, e := n.reachable(t); p || e {
			return true
		}
	}
	return false
}

// derive applies parley.NotifyFor to every (message, member) pair and
// collapses the result into one entry per member.
func (n *Notifier) derive(ctx context.Context, conv parley.Conversation, msgs []parley.Message, targets []parley.NotifyTarget) []parley.Notification {
	byUser := make(map[string]parley.NotifyTarget, len(targets))
	var reachable []parley.NotifyTarget // the members anything can be sent to
	for _, t := range targets {
		byUser[t.UserID] = t
		if p, e := n.reachable(t); p || e {
			reachable = append(reachable, t)
		}
	}
	var online map[string]bool // read once, only if a message says @here
	now := n.a.now().UTC()
	by := map[string]*parley.Notification{}
	for _, m := range msgs {
		nm := parley.NotifyMessage{Kind: conv.Kind, SenderID: m.SenderID, SenderRole: byUser[m.SenderID].Role,
			System: m.Kind == parley.MessageSystem, Deleted: m.Deleted, Mentions: m.Mentions, At: m.CreatedAt}
		if conv.Kind != parley.KindDirect && !nm.System {
			nm.Broadcast = parley.BroadcastMention(m.Body)
		}
		if nm.Broadcast == parley.MentionHere && online == nil {
			online = n.onlineOf(ctx, reachable)
		}
		for _, t := range reachable {
			if t.ReadSeq >= m.Seq {
				continue // read already (on another device)
			}
			reason, ok := parley.NotifyFor(nm, parley.NotifyRecipient{UserID: t.UserID, Prefs: t.Prefs, Conv: t.Conv,
				MemberMuted: t.Muted, Online: online[t.UserID]})
			if !ok {
				continue
			}
			e := by[t.UserID]
			if e == nil {
				e = &parley.Notification{UserID: t.UserID, ConversationID: conv.ID, Channel: parley.ChannelPush,
					NextAt: now, CreatedAt: now}
				by[t.UserID] = e
			}
			e.Seq, e.Count, e.Reason = m.Seq, e.Count+1, e.Reason.Stronger(reason)
		}
	}
	out := make([]parley.Notification, 0, len(by))
	digest := n.a.mail.o.DigestAfter
	for _, e := range by {
		push, email := n.reachable(byUser[e.UserID])
		if push {
			out = append(out, *e)
		}
		if email && e.Reason != parley.ReasonMessage {
			// The same news by email later, unless read by then (email.go).
			d := *e
			d.Channel, d.NextAt = parley.ChannelEmail, now.Add(digest)
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b parley.Notification) int {
		switch {
		case a.UserID < b.UserID:
			return -1
		case a.UserID > b.UserID:
			return 1
		}
		return strings.Compare(string(a.Channel), string(b.Channel))
	})
	return out
}

func (n *Notifier) onlineOf(ctx context.Context, targets []parley.NotifyTarget) map[string]bool {
	online := map[string]bool{}
	if n.o.Presence == nil {
		return online
	}
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.UserID
	}
	st, err := n.o.Presence.Status(ctx, ids)
	if err != nil {
		n.a.log.Warn("presence for @here", "err", err)
		return online
	}
	for _, s := range st {
		online[s.UserID] = s.Online
	}
	return online
}

// claimBatch is how many entries one claim takes.
const claimBatch = 32

// Dispatch delivers the entries due now until none is left.
func (n *Notifier) Dispatch(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := n.a.store.ClaimNotifications(ctx, n.a.now(), n.o.Lease, claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				n.a.log.Warn("claiming notifications", "err", err)
			}
			return
		}
		if len(due) == 0 {
			return
		}
		sem := make(chan struct{}, n.o.Workers)
		var wg sync.WaitGroup
		run := func(fn func()) {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				fn()
			}()
		}
		digests := map[string][]parley.Notification{} // user → email entries
		for _, e := range due {
			if e.Channel == parley.ChannelEmail {
				digests[e.UserID] = append(digests[e.UserID], e)
				continue
			}
			run(func() { n.deliver(ctx, e) })
		}
		for _, es := range digests {
			run(func() { n.deliverDigest(ctx, es) })
		}
		wg.Wait()
	}
}

// deliver sends one claimed entry and settles it in the queue.
func (n *Notifier) deliver(ctx context.Context, e parley.Notification) {
	ch := string(e.Channel)
	sent, err := n.send(ctx, e)
	if err != nil {
		n.settleFailure(ctx, e, err)
		return
	}
	if sent > 0 && n.o.Metrics != nil {
		n.o.Metrics.NotifySent(ch, sent)
	}
	if err := n.a.store.FinishNotification(ctx, e.ID, e.Rev); err != nil && ctx.Err() == nil {
		// The lease ends and the entry is claimed again: at least once.
		n.a.log.Warn("settling a notification", "user_id", e.UserID, "err", err)
	}
}

// settleFailure gives a failed entry up (permanent, or out of attempts) or
// reschedules it with backoff.
func (n *Notifier) settleFailure(ctx context.Context, e parley.Notification, err error) {
	ch := string(e.Channel)
	var settle error
	switch {
	case IsPermanent(err) || e.Attempts >= parley.NotifyMaxAttempts:
		n.a.log.Warn("notification given up", "user_id", e.UserID, "conversation_id", e.ConversationID,
			"attempts", e.Attempts, "err", err)
		if n.o.Metrics != nil {
			n.o.Metrics.NotifyFailed(ch)
		}
		settle = n.a.store.FinishNotification(ctx, e.ID, e.Rev)
	default:
		if n.o.Metrics != nil {
			n.o.Metrics.NotifyRetried(ch)
		}
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		settle = n.a.store.RetryNotification(ctx, e.ID, e.Rev, n.a.now().Add(parley.NotifyBackoff(e.Attempts)), msg)
	}
	if settle != nil && ctx.Err() == nil {
		// The lease ends and the entry is claimed again: at least once.
		n.a.log.Warn("settling a notification", "user_id", e.UserID, "err", settle)
	}
}

// skip counts an entry settled without sending.
func (n *Notifier) skip(ch, why string) (int, error) {
	if n.o.Metrics != nil {
		n.o.Metrics.NotifySkipped(ch, why)
	}
	return 0, nil
}

// send builds the PushMessage of e and hands it to the sender. Entries that
// need no sending (read meanwhile, a focused device, a member who left, no
// sender) return (0, nil).
func (n *Notifier) send(ctx context.Context, e parley.Notification) (int, error) {
	ch := string(e.Channel)
	if n.o.Push == nil {
		return n.skip(ch, "no_sender")
	}
	member, err := n.a.store.Member(ctx, e.ConversationID, e.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return n.skip(ch, "not_member")
	} else if err != nil {
		return 0, err
	}
	if member.ReadSeq >= e.Seq {
		return n.skip(ch, "read")
	}
	if n.focus.focused(e.UserID, n.a.now()) {
		return n.skip(ch, "focused")
	}
	conv, err := n.a.store.Conversation(ctx, e.ConversationID)
	if err != nil {
		return 0, err
	}
	m, err := n.a.store.Message(ctx, e.ConversationID, e.Seq)
	if err != nil {
		return 0, err
	}
	prefs, err := n.a.store.NotifyPrefs(ctx, e.UserID)
	if err != nil {
		return 0, err
	}
	unread, err := n.unread(ctx, e.ConversationID, e.UserID, member.ReadSeq)
	if err != nil {
		return 0, err
	}
	pm := PushMessage{UserID: e.UserID, ConversationID: e.ConversationID, Seq: e.Seq, Reason: e.Reason,
		Count: e.Count, Unread: max(unread, 1), Title: conv.Title}
	if sender, err := n.a.store.User(ctx, m.SenderID); err == nil {
		pm.SenderName = sender.DisplayName
		if pm.SenderName == "" {
			pm.SenderName = sender.Username
		}
	}
	if conv.Kind == parley.KindDirect || pm.Title == "" {
		pm.Title = pm.SenderName
	}
	if m.E2EE != nil {
		// The server cannot read it: every push says only this.
		pm.Body = parley.EncryptedPushPreview
	} else if prefs.Previews && !m.Deleted {
		pm.Body = previewOf(m)
	}
	sent, err := n.o.Push.Push(ctx, pm)
	if err != nil {
		return 0, fmt.Errorf("push: %w", err)
	}
	return sent, nil
}

// MaxUnreadCounted bounds the unread count a notification carries (badges
// show "99+" long before).
const MaxUnreadCounted = 100

// unread counts the messages after readSeq that others sent and that are
// not deleted, as the conversation list does, up to MaxUnreadCounted.
func (n *Notifier) unread(ctx context.Context, convID, userID string, readSeq int64) (int64, error) {
	ms, err := n.a.store.History(ctx, convID, parley.HistoryQuery{After: readSeq, Limit: MaxUnreadCounted})
	if err != nil {
		return 0, err
	}
	var c int64
	for _, m := range ms {
		if m.Kind == parley.MessageUser && m.SenderID != userID && !m.Deleted {
			c++
		}
	}
	return c, nil
}

// MaxPreviewChars bounds the message text a notification carries.
const MaxPreviewChars = 120

func previewOf(m parley.Message) string {
	r := []rune(m.Body)
	if len(r) > MaxPreviewChars {
		return string(r[:MaxPreviewChars-1]) + "…"
	}
	if len(r) == 0 && len(m.Attachments) > 0 {
		return "📎 " + m.Attachments[0].Name
	}
	return m.Body
}

// Focused reports whether a device of userID is reported focused now (its
// pushes are held back).
func (n *Notifier) Focused(userID string) bool { return n.focus.focused(userID, n.a.now()) }
