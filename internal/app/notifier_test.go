package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// pushRecorder is a PushSender that records what it is given and fails
// while fail is set. (The real senders, Web Push among them, are tested
// against in-process push services in their own packages.)
type pushRecorder struct {
	mu   sync.Mutex
	got  []app.PushMessage
	fail error
}

func (p *pushRecorder) Push(_ context.Context, m app.PushMessage) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return 0, p.fail
	}
	p.got = append(p.got, m)
	return 1, nil
}

func (p *pushRecorder) take() []app.PushMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	got := p.got
	p.got = nil
	return got
}

func (p *pushRecorder) setFail(err error) {
	p.mu.Lock()
	p.fail = err
	p.mu.Unlock()
}

// countingMetrics is an app.NotifyMetrics that counts.
type countingMetrics struct {
	mu                              sync.Mutex
	enqueued, sent, failed, retried int
	skipped                         map[string]int
}

func (m *countingMetrics) NotifyEnqueued(n int) { m.mu.Lock(); m.enqueued += n; m.mu.Unlock() }
func (m *countingMetrics) NotifySent(_ string, n int) {
	m.mu.Lock()
	m.sent += n
	m.mu.Unlock()
}
func (m *countingMetrics) NotifyFailed(string)  { m.mu.Lock(); m.failed++; m.mu.Unlock() }
func (m *countingMetrics) NotifyRetried(string) { m.mu.Lock(); m.retried++; m.mu.Unlock() }
func (m *countingMetrics) NotifySkipped(_, why string) {
	m.mu.Lock()
	if m.skipped == nil {
		m.skipped = map[string]int{}
	}
	m.skipped[why]++
	m.mu.Unlock()
}

func (m *countingMetrics) get() (int, int, int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.enqueued, m.sent, m.failed, m.retried
}

// notifyEnv is an App and a Notifier on a real SQLite store in dir and an
// in-process bus, with a fake clock.
type notifyEnv struct {
	app   *app.App
	store *sqlite.Store
	n     *app.Notifier
	push  *pushRecorder
	m     *countingMetrics
	clock *acctClock
	ctx   context.Context
}

func newNotifyEnv(t *testing.T, dir string, clock *acctClock) *notifyEnv {
	t.Helper()
	return newNotifyEnvMail(t, dir, clock, app.EmailOptions{})
}

func newNotifyEnvMail(t *testing.T, dir string, clock *acctClock, email app.EmailOptions) *notifyEnv {
	t.Helper()
	store, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	e := &notifyEnv{store: store, push: &pushRecorder{}, m: &countingMetrics{}, clock: clock, ctx: context.Background()}
	e.app = app.New(app.Options{Store: store, Bus: bus, Now: clock.Now, Limits: app.Limits{SignupsPerAddr: -1},
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}, Email: email})
	e.n = app.NewNotifier(e.app, app.NotifierOptions{Push: e.push, Metrics: e.m, Lease: time.Minute})
	unsub, err := bus.Subscribe(e.n.HandleEvent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unsub(); _ = bus.Close(); _ = store.Close() })
	return e
}

func (e *notifyEnv) user(t *testing.T, name string) parley.Actor {
	t.Helper()
	u, token, err := e.app.Register(e.ctx, app.RegisterInput{Username: name, Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.app.Authenticate(e.ctx, token)
	if err != nil || a.UserID != u.ID {
		t.Fatal(a, err)
	}
	// Reachable by push (the recorder stands in for the service): members
	// nothing can reach get no entries (TestNotifierSkipsUnreachable).
	if _, err := e.store.AddPushSubscription(e.ctx, parley.PushSubscription{ID: parley.NewID(), UserID: u.ID,
		Endpoint: "https://push.example/" + u.ID, P256DH: "k", Auth: "a", CreatedAt: e.clock.Now()}, 5); err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *notifyEnv) conv(t *testing.T, owner parley.Actor, kind parley.ConversationKind, members ...parley.Actor) string {
	t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.UserID)
	}
	in := app.CreateConversationInput{Kind: kind, Title: "team", MemberIDs: ids}
	if kind == parley.KindDirect {
		in.Title = ""
	}
	c, _, err := e.app.CreateConversation(e.ctx, owner, in)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (e *notifyEnv) send(t *testing.T, a parley.Actor, conv, body string) parley.Message {
	t.Helper()
	m, _, err := e.app.SendMessage(e.ctx, a, app.SendMessageInput{ConversationID: conv, ClientMsgID: parley.NewID(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// settle derives conv and delivers everything due.
func (e *notifyEnv) settle(t *testing.T, conv string) []app.PushMessage {
	t.Helper()
	if err := e.n.Derive(e.ctx, conv); err != nil {
		t.Fatal(err)
	}
	e.n.Dispatch(e.ctx)
	return e.push.take()
}

func pushedTo(ps []app.PushMessage) map[string]app.PushMessage {
	out := map[string]app.PushMessage{}
	for _, p := range ps {
		out[p.UserID] = p
	}
	return out
}

func newClock() *acctClock { return &acctClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func TestNotifierAppliesTheRules(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	g := e.conv(t, alice, parley.KindGroup, bob, carol)
	if got := e.settle(t, g); len(got) != 0 {
		t.Fatalf("the creation (a system message) notified %+v", got)
	}

	e.send(t, bob, g, "hi all")
	got := pushedTo(e.settle(t, g))
	if len(got) != 2 || got[alice.UserID].Reason != parley.ReasonMessage || got[carol.UserID].Seq == 0 {
		t.Fatalf("plain message pushed %+v", got)
	}
	if p := got[alice.UserID]; p.Body != "" || p.Title != "team" || p.SenderName != "bob" || p.Unread < 1 {
		t.Fatalf("push without previews %+v", p)
	}

	// carol: mentions and direct only. A member's @all is no mention;
	// the owner's is.
	if _, err := e.app.SetNotifyPrefs(e.ctx, carol, parley.NotifyPrefs{Level: parley.NotifyMentions, Previews: true}); err != nil {
		t.Fatal(err)
	}
	e.send(t, bob, g, "@all lunch?")
	if got := pushedTo(e.settle(t, g)); len(got) != 1 || got[alice.UserID].Seq == 0 {
		t.Fatalf("a member's @all pushed %+v", got)
	}
	e.send(t, alice, g, "@all meeting now")
	got = pushedTo(e.settle(t, g))
	if len(got) != 2 || got[carol.UserID].Reason != parley.ReasonMention || got[carol.UserID].Body != "@all meeting now" {
		t.Fatalf("the owner's @all pushed %+v", got)
	}
	e.send(t, bob, g, "@carol look")
	if got := pushedTo(e.settle(t, g)); got[carol.UserID].Reason != parley.ReasonMention {
		t.Fatalf("a mention pushed %+v", got)
	}

	// alice mutes the group for an hour; then only carol's mention counts.
	until := e.clock.Now().Add(time.Hour)
	if _, err := e.app.SetConversationNotify(e.ctx, alice, g, parley.ConversationNotify{MutedUntil: &until}); err != nil {
		t.Fatal(err)
	}
	e.send(t, bob, g, "still there? @alice")
	if got := pushedTo(e.settle(t, g)); len(got) != 0 {
		t.Fatalf("a muted conversation pushed %+v", got)
	}

	// Direct conversations push with reason direct and the sender as title.
	d := e.conv(t, bob, parley.KindDirect, carol)
	e.send(t, bob, d, "psst")
	got = pushedTo(e.settle(t, d))
	if p := got[carol.UserID]; len(got) != 1 || p.Reason != parley.ReasonDirect || p.Title != "bob" || p.Body != "psst" {
		t.Fatalf("direct pushed %+v", got)
	}
	if enq, sent, failed, _ := e.m.get(); sent != 8 || failed != 0 || enq != 8 {
		t.Fatalf("metrics enqueued %d sent %d failed %d", enq, sent, failed)
	}
}

func TestNotifierCollapsesPerConversation(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	g := e.conv(t, alice, parley.KindGroup, bob)
	for i := range 5 {
		e.send(t, alice, g, fmt.Sprintf("m%d", i))
		if err := e.n.Derive(e.ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	e.n.Dispatch(e.ctx)
	got := e.push.take()
	if len(got) != 1 || got[0].Count != 5 || got[0].Seq != 6 || got[0].Unread != 5 {
		t.Fatalf("five messages gave %+v; want one push of 5", got)
	}
}

func TestNotifierSkipsReadAndFocused(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	g := e.conv(t, alice, parley.KindGroup, bob)
	m := e.send(t, alice, g, "one")
	if err := e.n.Derive(e.ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.MarkRead(e.ctx, bob, g, m.Seq); err != nil {
		t.Fatal(err)
	}
	e.n.Dispatch(e.ctx)
	if got := e.push.take(); len(got) != 0 {
		t.Fatalf("a message read meanwhile was pushed: %+v", got)
	}

	// A focused device (reported over the bus) holds pushes back until it
	// says otherwise or its report expires.
	if err := e.app.ReportFocus(e.ctx, bob, "c1", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "focus report", func() bool { return e.n.Focused(bob.UserID) })
	e.send(t, alice, g, "two")
	if got := e.settle(t, g); len(got) != 0 {
		t.Fatalf("a focused user was pushed: %+v", got)
	}
	e.send(t, alice, g, "three")
	e.clock.Add(app.FocusTTL + time.Second)
	if got := e.settle(t, g); len(got) != 1 {
		t.Fatalf("after the focus report expired: %+v", got)
	}
	if err := e.app.ReportFocus(e.ctx, bob, "c1", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "focus report", func() bool { return e.n.Focused(bob.UserID) })
	if err := e.app.ReportFocus(e.ctx, bob, "c1", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "blur report", func() bool { return !e.n.Focused(bob.UserID) })
	e.send(t, alice, g, "four")
	if got := e.settle(t, g); len(got) != 1 {
		t.Fatalf("after blur: %+v", got)
	}
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	if e.m.skipped["read"] != 1 || e.m.skipped["focused"] != 1 {
		t.Fatalf("skipped %v", e.m.skipped)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNotifierRetriesWithBackoffThenGivesUp(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	g := e.conv(t, alice, parley.KindGroup, bob)
	e.send(t, alice, g, "hello")
	e.push.setFail(errors.New("push service unavailable"))
	if err := e.n.Derive(e.ctx, g); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt < parley.NotifyMaxAttempts; attempt++ {
		e.n.Dispatch(e.ctx)
		p, _ := e.store.PendingNotifications(e.ctx, bob.UserID)
		if len(p) != 1 || p[0].Attempts != attempt || !p[0].NextAt.Equal(e.clock.Now().Add(parley.NotifyBackoff(attempt))) ||
			p[0].LastError == "" {
			t.Fatalf("after attempt %d: %+v", attempt, p)
		}
		e.n.Dispatch(e.ctx) // not due yet: nothing happens
		if _, _, _, retried := e.m.get(); retried != attempt {
			t.Fatalf("retried %d after attempt %d", retried, attempt)
		}
		e.clock.Add(parley.NotifyBackoff(attempt))
	}
	e.n.Dispatch(e.ctx)
	if p, _ := e.store.PendingNotifications(e.ctx, bob.UserID); len(p) != 0 {
		t.Fatalf("still queued after %d attempts: %+v", parley.NotifyMaxAttempts, p)
	}
	if _, sent, failed, _ := e.m.get(); failed != 1 || sent != 0 {
		t.Fatalf("failed %d sent %d", failed, sent)
	}

	// A failure that retrying cannot fix ends at once; recovery delivers.
	e.push.setFail(app.Permanent(errors.New("gone")))
	e.send(t, alice, g, "again")
	e.settle(t, g)
	if p, _ := e.store.PendingNotifications(e.ctx, bob.UserID); len(p) != 0 {
		t.Fatalf("a permanent failure stayed queued: %+v", p)
	}
	e.push.setFail(errors.New("blip"))
	e.send(t, alice, g, "third")
	e.settle(t, g)
	e.push.setFail(nil)
	e.clock.Add(parley.NotifyBackoff(1))
	e.n.Dispatch(e.ctx)
	if got := e.push.take(); len(got) != 1 || got[0].Body != "" {
		t.Fatalf("after recovery %+v", got)
	}
}

// TestNotifierSurvivesRestart: messages committed while no notifier runs
// and an entry claimed by a worker that died are both delivered by the
// notifier of the restarted node.
func TestNotifierSurvivesRestart(t *testing.T) {
	dir, clock := t.TempDir(), newClock()
	e := newNotifyEnv(t, dir, clock)
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	g := e.conv(t, alice, parley.KindGroup, bob)
	h := e.conv(t, alice, parley.KindGroup, carol)
	e.send(t, alice, g, "before the crash")
	if err := e.n.Derive(e.ctx, g); err != nil {
		t.Fatal(err)
	}
	// A worker claims bob's entry and dies before delivering it.
	if c, err := e.store.ClaimNotifications(e.ctx, clock.Now(), time.Minute, 10); err != nil || len(c) != 1 {
		t.Fatalf("claim %+v %v", c, err)
	}
	e.send(t, alice, h, "never derived") // committed; no notifier saw it
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Add(2 * time.Minute) // the dead worker's lease is over
	e2 := newNotifyEnv(t, dir, clock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e2.n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var got []app.PushMessage
	waitFor(t, "both pushes", func() bool { got = append(got, e2.push.take()...); return len(got) >= 2 })
	by := pushedTo(got)
	if len(got) != 2 || by[bob.UserID].ConversationID != g || by[carol.UserID].ConversationID != h {
		t.Fatalf("after restart %+v", got)
	}
	// Live messages reach the running notifier through the bus.
	e2.send(t, alice, h, "live")
	waitFor(t, "the live push", func() bool { got = e2.push.take(); return len(got) == 1 })
}

// TestNotifiersShareTheQueue: two notifiers (two nodes) deriving and
// dispatching the same conversations deliver each notification once.
func TestNotifiersShareTheQueue(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	other := app.NewNotifier(e.app, app.NotifierOptions{Push: e.push})
	alice := e.user(t, "alice")
	var users []parley.Actor
	for i := range 6 {
		users = append(users, e.user(t, fmt.Sprintf("user%d", i)))
	}
	g := e.conv(t, alice, parley.KindGroup, users...)
	e.send(t, alice, g, "hello everyone")
	var wg sync.WaitGroup
	for _, n := range []*app.Notifier{e.n, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Derive(e.ctx, g); err != nil {
				t.Error(err)
			}
			n.Dispatch(e.ctx)
		}()
	}
	wg.Wait()
	e.n.Dispatch(e.ctx)
	got := e.push.take()
	if len(got) != 6 || len(pushedTo(got)) != 6 {
		t.Fatalf("%d pushes to %d users; want 6 to 6", len(got), len(pushedTo(got)))
	}
}

func TestNotificationSettingsBadInput(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	alice, bob, eve := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "eve")
	g := e.conv(t, alice, parley.KindGroup, bob)
	code := func(err error, want parley.Code, field string) {
		t.Helper()
		if pe := parley.AsError(err); err == nil || pe.Code != want || pe.Field != field {
			t.Fatalf("got %v, want %s on %q", err, want, field)
		}
	}
	_, err := e.app.SetNotifyPrefs(e.ctx, alice, parley.NotifyPrefs{Level: "shout"})
	code(err, parley.CodeInvalid, "level")
	_, err = e.app.SetNotifyPrefs(e.ctx, alice, parley.NotifyPrefs{TimeZone: "Not/AZone"})
	code(err, parley.CodeInvalid, "time_zone")
	_, err = e.app.SetNotifyPrefs(e.ctx, parley.Actor{}, parley.NotifyPrefs{})
	code(err, parley.CodeUnauthenticated, "")
	_, err = e.app.ConversationNotify(e.ctx, eve, g)
	code(err, parley.CodeNotFound, "")
	_, err = e.app.SetConversationNotify(e.ctx, eve, g, parley.ConversationNotify{MentionsOnly: true})
	code(err, parley.CodeNotFound, "")
	_, err = e.app.SetConversationNotify(e.ctx, bob, "not-an-id", parley.ConversationNotify{})
	code(err, parley.CodeInvalid, "conversation_id")
	far := e.clock.Now().Add(app.MaxMuteFor + time.Hour)
	_, err = e.app.SetConversationNotify(e.ctx, bob, g, parley.ConversationNotify{MutedUntil: &far})
	code(err, parley.CodeInvalid, "muted_until")
	past := e.clock.Now().Add(-time.Hour)
	if c, err := e.app.SetConversationNotify(e.ctx, bob, g, parley.ConversationNotify{MutedUntil: &past}); err != nil || c.MutedUntil != nil {
		t.Fatalf("a mute in the past %+v %v", c, err)
	}
	if p, err := e.app.NotifyPrefs(e.ctx, alice); err != nil || p.Level != parley.NotifyAll {
		t.Fatalf("prefs after refusals %+v %v", p, err)
	}
}

// TestNotifierSkipsUnreachable: members nothing can reach (no push
// subscription or device, no email for digests) get no entries; the cursor
// moves in memory and is stored at the sweep; a member who subscribes later
// is notified of what comes after.
func TestNotifierSkipsUnreachable(t *testing.T) {
	e := newNotifyEnv(t, t.TempDir(), newClock())
	plain := func(name string) (parley.User, parley.Actor) {
		u, token, err := e.app.Register(e.ctx, app.RegisterInput{Username: name, Password: "password123"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.app.Authenticate(e.ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return u, a
	}
	_, alice := plain("alice")
	u, bob := plain("bob")
	d := e.conv(t, alice, parley.KindDirect, bob)
	for i := range 3 {
		e.send(t, alice, d, fmt.Sprintf("m%d", i))
		if err := e.n.Derive(e.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e.n.Dispatch(e.ctx)
	if got := e.push.take(); len(got) != 0 {
		t.Fatalf("pushed to an unreachable member: %+v", got)
	}
	if enq, _, _, _ := e.m.get(); enq != 0 {
		t.Fatalf("%d entries enqueued for an unreachable member", enq)
	}
	before, err := e.store.NotifyCursor(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	e.n.FlushPassed(e.ctx)
	after, err := e.store.NotifyCursor(e.ctx, d)
	if err != nil || after.NotifiedSeq != after.LastSeq || before.NotifiedSeq >= after.NotifiedSeq {
		t.Fatalf("cursor before the sweep %+v, after %+v (%v)", before, after, err)
	}

	if _, err := e.store.AddPushSubscription(e.ctx, parley.PushSubscription{ID: parley.NewID(), UserID: u.ID,
		Endpoint: "https://push.example/" + u.ID, P256DH: "k", Auth: "a", CreatedAt: e.clock.Now()}, 5); err != nil {
		t.Fatal(err)
	}
	m := e.send(t, alice, d, "now you hear me")
	got := e.settle(t, d)
	if len(got) != 1 || got[0].UserID != u.ID || got[0].Count != 1 || got[0].Seq != m.Seq {
		t.Fatalf("after subscribing: %+v; want one push of the new message", got)
	}
}
