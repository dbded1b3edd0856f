package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// TestDigestOfMissedMentions: mentions and direct messages still unread
// DigestAfter later are mailed, one email per user listing each
// conversation, only to verified addresses; plain messages and what was
// read meanwhile are not.
func TestDigestOfMissedMentions(t *testing.T) {
	mails := &mailRecorder{}
	e := newNotifyEnvMail(t, t.TempDir(), newClock(), app.EmailOptions{Mailer: mails, DigestAfter: 15 * time.Minute,
		Verification: parley.EmailVerificationOptional, PublicURL: "https://chat.example.org"})
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	for _, u := range []parley.Actor{bob, carol} {
		email := strings.TrimPrefix(u.UserID, "")[:6] + "@example.org"
		if _, err := e.app.UpdateMe(e.ctx, u, app.ProfileUpdate{Email: &email}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.SetEmailVerified(e.ctx, bob.UserID, bob.UserID[:6]+"@example.org", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	sentBefore := mails.count() // the verification links of the two new addresses
	g := e.conv(t, alice, parley.KindGroup, bob, carol)
	d := e.conv(t, alice, parley.KindDirect, bob)
	e.send(t, alice, g, "plain news")
	e.settle(t, g)
	e.send(t, alice, g, "@bob @carol please look")
	e.send(t, alice, d, "ping")
	if got := e.settle(t, g); len(got) != 2 {
		t.Fatalf("pushes %+v", got)
	}
	e.settle(t, d)
	e.clock.Add(14 * time.Minute)
	e.n.Dispatch(e.ctx)
	if mails.count() != sentBefore {
		t.Fatal("a digest before its time")
	}
	e.clock.Add(2 * time.Minute)
	e.n.Dispatch(e.ctx)
	if mails.count() != sentBefore+1 {
		t.Fatalf("%d digests; want 1 (bob only: carol's address is unverified)", mails.count()-sentBefore)
	}
	m := mails.sent[len(mails.sent)-1]
	if m.to != bob.UserID[:6]+"@example.org" || !strings.Contains(m.text, "team: 1 new message(s), you were mentioned") ||
		!strings.Contains(m.text, "alice (direct)") || !strings.Contains(m.text, "https://chat.example.org/c/"+g) ||
		strings.Contains(m.text, "please look") || strings.Contains(m.text, "plain news") {
		t.Fatalf("digest %q", m.text)
	}
	for _, u := range []parley.Actor{bob, carol} {
		if p, _ := e.store.PendingNotifications(e.ctx, u.UserID); len(p) != 0 {
			t.Fatalf("left queued for %s: %+v", u.UserID, p)
		}
	}

	// Read within the delay: no digest.
	msg := e.send(t, alice, d, "again")
	e.settle(t, d)
	if _, err := e.app.MarkRead(e.ctx, bob, d, msg.Seq); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(16 * time.Minute)
	e.n.Dispatch(e.ctx)
	if mails.count() != sentBefore+1 {
		t.Fatal("a digest of something read")
	}
}
