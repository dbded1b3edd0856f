package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

func TestTokensAreRandom256BitAndStoredOnlyHashed(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, tok1, a1 := e.register(t, "alice")
	_, tok2, err := e.app.Login(ctx, app.LoginInput{Username: "alice", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tok1, tok2} {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes, %v; want 32 bytes base64url", tok, len(raw), err)
		}
	}
	if tok1 == tok2 {
		t.Fatal("two sign-ins got the same token")
	}
	h := sha256.Sum256([]byte(tok1))
	ss, err := e.store.SessionByTokenHash(ctx, h[:])
	if err != nil || ss.ID != a1.SessionID {
		t.Fatalf("session by SHA-256 of token = %+v, %v", ss, err)
	}
	if strings.Contains(string(ss.TokenHash), tok1) {
		t.Fatal("token stored in clear")
	}
	if ss.UserAgent != "test-agent" || ss.Address != "192.0.2.1" {
		t.Fatalf("session metadata %+v", ss)
	}
}

func TestAuthenticateRefusesBadTokens(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, tok, _ := e.register(t, "bob")
	made := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, bad := range []string{"", "x", tok + "x", tok[:42], strings.ToUpper(tok[:1]) + tok[1:] + "=", made, tok[:42] + "!", strings.Repeat("é", 22)} {
		if bad == tok {
			continue
		}
		_, err := e.app.Authenticate(ctx, bad)
		wantErr(t, "token "+bad, err, parley.CodeUnauthenticated, "")
	}
}

func TestSessionsExpireWhenIdleAndLastSeenIsThrottled(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Limits.SessionTTL = time.Hour })
	ctx := context.Background()
	_, tok, a := e.register(t, "carol")
	lastSeen := func() (time.Time, time.Time) {
		list, err := e.app.Sessions(ctx, a)
		if err != nil || len(list) != 1 {
			t.Fatalf("sessions = %+v, %v", list, err)
		}
		return list[0].LastSeenAt, list[0].ExpiresAt
	}
	created, exp0 := lastSeen()
	if !exp0.Equal(created.Add(time.Hour)) {
		t.Fatalf("expires %v, want created+TTL %v", exp0, created.Add(time.Hour))
	}
	e.clock.Add(30 * time.Second)
	e.auth(t, tok)
	if seen, _ := lastSeen(); !seen.Equal(created) {
		t.Fatalf("last seen written after 30s (%v → %v); writes should be throttled to once a minute", created, seen)
	}
	// Keep using it: every use slides the expiry.
	for range 3 {
		e.clock.Add(50 * time.Minute)
		e.auth(t, tok)
	}
	seen, exp := lastSeen()
	if !seen.Equal(e.clock.Now()) || !exp.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("last seen %v expires %v, now %v", seen, exp, e.clock.Now())
	}
	// Idle past the TTL: refused, and the session is gone.
	e.clock.Add(time.Hour)
	_, err := e.app.Authenticate(ctx, tok)
	wantErr(t, "expired", err, parley.CodeUnauthenticated, "")
	if list, _ := e.store.Sessions(ctx, a.UserID); len(list) != 0 {
		t.Fatalf("expired session left in store: %+v", list)
	}
}

func TestExpiredSessionsArePrunedAtSignIn(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Limits.SessionTTL = time.Hour })
	ctx := context.Background()
	_, _, a := e.register(t, "dan")
	e.clock.Add(2 * time.Hour)
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "dan", Password: acctPassword}); err != nil {
		t.Fatal(err)
	}
	list, _ := e.store.Sessions(ctx, a.UserID)
	if len(list) != 1 || list[0].ID == a.SessionID {
		t.Fatalf("sessions after prune: %+v", list)
	}
}

func TestLogoutRevokesTokenAndPublishes(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, tok, a := e.register(t, "erin")
	_, tok2, _ := e.app.Login(ctx, app.LoginInput{Username: "erin", Password: acctPassword})
	if err := e.app.Logout(ctx, a); err != nil {
		t.Fatal(err)
	}
	ev := e.nextEvent(t)
	if ev.Kind != parley.EventSessionRevoked || len(ev.SessionIDs) != 1 || ev.SessionIDs[0] != a.SessionID || len(ev.UserIDs) != 0 {
		t.Fatalf("event %+v", ev)
	}
	var frame struct{ Type, Reason string }
	if err := json.Unmarshal(ev.Frame, &frame); err != nil || frame.Type != "session_revoked" || frame.Reason != "logout" {
		t.Fatalf("frame %s: %+v %v", ev.Frame, frame, err)
	}
	_, err := e.app.Authenticate(ctx, tok)
	wantErr(t, "after logout", err, parley.CodeUnauthenticated, "")
	e.auth(t, tok2) // other sessions unaffected
	wantErr(t, "logout twice", e.app.Logout(ctx, a), parley.CodeUnauthenticated, "")
	wantErr(t, "anonymous logout", e.app.Logout(ctx, parley.Actor{}), parley.CodeUnauthenticated, "")
}

func TestSessionListAndRevoke(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, a := e.register(t, "frank")
	e.clock.Add(time.Second)
	_, tok2, err := e.app.Login(ctx, app.LoginInput{Username: "frank", Password: acctPassword, UserAgent: "phone\x00\u202e", Address: "2001:db8::1"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.auth(t, tok2)
	_, tokOther, other := e.register(t, "grace")

	list, err := e.app.Sessions(ctx, a)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	if list[0].ID != b.SessionID || list[0].Current || list[1].ID != a.SessionID || !list[1].Current {
		t.Fatalf("want newest first with current marked: %+v", list)
	}
	if list[0].UserAgent != "phone" || list[0].Address != "2001:db8::1" {
		t.Fatalf("metadata not cleaned: %+v", list[0])
	}

	// Someone else's session id is not found, and that session lives on.
	wantErr(t, "other's session", e.app.RevokeSession(ctx, a, other.SessionID), parley.CodeNotFound, "")
	e.auth(t, tokOther)
	wantErr(t, "malformed id", e.app.RevokeSession(ctx, a, "../../x"), parley.CodeNotFound, "")
	wantErr(t, "unknown id", e.app.RevokeSession(ctx, a, parley.NewID()), parley.CodeNotFound, "")
	e.noEvent(t)

	if err := e.app.RevokeSession(ctx, a, b.SessionID); err != nil {
		t.Fatal(err)
	}
	if ev := e.nextEvent(t); ev.Kind != parley.EventSessionRevoked || len(ev.SessionIDs) != 1 || ev.SessionIDs[0] != b.SessionID {
		t.Fatalf("event %+v", ev)
	}
	_, err = e.app.Authenticate(ctx, tok2)
	wantErr(t, "revoked", err, parley.CodeUnauthenticated, "")
	_, err = e.app.Sessions(ctx, parley.Actor{})
	wantErr(t, "anonymous", err, parley.CodeUnauthenticated, "")
}

// BenchmarkAuthenticate measures resolving a bearer token (two indexed reads;
// the last-seen write is throttled to once a minute).
func BenchmarkAuthenticate(b *testing.B) {
	store, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	a := app.New(app.Options{Store: store, Bus: memory.New(), Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})
	_, tok, err := a.Register(context.Background(), app.RegisterInput{Username: "bench", Password: "bench-password"})
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(context.Background(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// touchCounter counts TouchSessions calls and the sessions they carry.
type touchCounter struct {
	parley.Store
	mu       sync.Mutex
	calls    int
	sessions int
}

func (c *touchCounter) TouchSessions(ctx context.Context, ts []parley.SessionTouch) error {
	c.mu.Lock()
	c.calls++
	c.sessions += len(ts)
	c.mu.Unlock()
	return c.Store.TouchSessions(ctx, ts)
}

// Sign-in does not wait for the last-seen write: the writes of many
// sessions seen at once go to the store together, readers see the new
// last-seen and expiry before it is written, and a revoked session's
// pending write does not bring it back.
func TestSessionTouchesBatched(t *testing.T) {
	var counter *touchCounter
	e := newAcctEnv(t, func(o *app.Options) {
		o.Limits.SessionTTL = time.Hour
		counter = &touchCounter{Store: o.Store}
		o.Store = counter
	})
	ctx := context.Background()
	_, first, a := e.register(t, "gina")
	toks := []string{first}
	for range 29 {
		_, tok, err := e.app.Login(ctx, app.LoginInput{Username: "gina", Password: acctPassword})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	e.clock.Add(50 * time.Minute)
	for _, tok := range toks {
		e.auth(t, tok)
	}
	now := e.clock.Now()
	// Seen at once by the app, whatever the store holds yet.
	list, err := e.app.Sessions(ctx, a)
	if err != nil || len(list) != 30 {
		t.Fatalf("sessions: %d, %v", len(list), err)
	}
	for _, ss := range list {
		if !ss.LastSeenAt.Equal(now) || !ss.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("session %s: last seen %v expires %v, want %v", ss.ID, ss.LastSeenAt, ss.ExpiresAt, now)
		}
	}
	// Past the first expiry, before the slid one: still valid.
	e.clock.Add(20 * time.Minute)
	e.auth(t, first)
	// Revoke one while its touch may still be pending.
	if err := e.app.Logout(ctx, parley.Actor{UserID: a.UserID, SessionID: a.SessionID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		stored, err := e.store.Sessions(ctx, a.UserID)
		if err != nil {
			t.Fatal(err)
		}
		done := len(stored) == 29
		for _, ss := range stored {
			if ss.ID == a.SessionID {
				t.Fatal("a revoked session came back")
			}
			done = done && ss.LastSeenAt.Equal(now)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("touches not written: %+v", stored)
		}
		time.Sleep(20 * time.Millisecond)
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if counter.sessions < 30 || counter.calls > 10 {
		t.Fatalf("%d sessions written in %d calls; want them batched", counter.sessions, counter.calls)
	}
}
