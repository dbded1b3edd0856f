package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// twoNodes is two Apps (two nodes) on one SQLite store and one bus, each
// subscribed to the bus as the server subscribes it, with one fake clock.
type twoNodes struct {
	a, b  *app.App
	store *countingStore
	raw   parley.Store
	clock *acctClock
}

func newTwoNodes(t *testing.T, configure ...func(*app.Options)) *twoNodes {
	t.Helper()
	raw, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	n := &twoNodes{store: &countingStore{Store: raw}, raw: raw, clock: &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}}
	o := app.Options{Store: n.store, Bus: bus, Now: n.clock.Now, Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}}
	for _, c := range configure {
		c(&o)
	}
	n.a, n.b = app.New(o), app.New(o)
	var unsubs []func()
	for _, x := range []*app.App{n.a, n.b} {
		unsub, err := bus.Subscribe(x.HandleEvent)
		if err != nil {
			t.Fatal(err)
		}
		unsubs = append(unsubs, unsub)
	}
	t.Cleanup(func() {
		for _, u := range unsubs {
			u()
		}
		_ = bus.Close()
		_ = raw.Close()
	})
	return n
}

// eventually retries check until it returns "" (the bus delivers
// asynchronously) and fails with its last answer after 10 s.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if last = check(); last == "" {
			return
		}
	}
	t.Fatal(last)
}

// TestAuthCacheReadsOncePerTTL: a token used again within AuthCacheTTL is
// not looked up again; after it, it is.
func TestAuthCacheReadsOncePerTTL(t *testing.T) {
	n := newTwoNodes(t)
	ctx := context.Background()
	_, tok, err := n.a.Register(ctx, app.RegisterInput{Username: "alice", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	before := n.store.lookups.Load()
	for range 5 {
		if _, err := n.a.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.store.lookups.Load() - before; got != 1 {
		t.Fatalf("%d lookups for 5 uses within the TTL, want 1", got)
	}
	n.clock.Add(app.AuthCacheTTL)
	if _, err := n.a.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := n.store.lookups.Load() - before; got != 2 {
		t.Fatalf("%d lookups after the TTL, want 2", got)
	}
	// A bad token is never kept: each use looks it up.
	bad := "A" + tok[1:]
	if bad == tok {
		bad = "B" + tok[1:]
	}
	for range 2 {
		if _, err := n.a.Authenticate(ctx, bad); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if got := n.store.lookups.Load() - before; got != 4 {
		t.Fatalf("%d lookups after two uses of an unknown token, want 4", got)
	}
}

// TestAuthCacheChangesReachEveryNode: a token both nodes have checked
// stops working on both at once when it is revoked on one; a profile
// change, a disabled account and a revocation of every session reach the
// other node's kept reads through the bus; a change made in the database
// behind the servers' backs is seen within AuthCacheTTL.
func TestAuthCacheChangesReachEveryNode(t *testing.T) {
	n := newTwoNodes(t)
	ctx := context.Background()
	admin, _, err := n.a.Register(ctx, app.RegisterInput{Username: "admin", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	admin.Role = parley.UserRoleAdmin
	if err := n.raw.UpdateUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	_, adminTok, err := n.a.Login(ctx, app.LoginInput{Username: "admin", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := n.a.Register(ctx, app.RegisterInput{Username: "bob", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	_, tok2, err := n.a.Login(ctx, app.LoginInput{Username: "bob", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	nameOn := func(x *app.App, tok string) (string, error) {
		_, u, err := x.AuthenticateUser(ctx, tok)
		return u.DisplayName, err
	}
	for _, x := range []*app.App{n.a, n.b} { // both nodes keep bob's sessions
		for _, tk := range []string{tok, tok2} {
			if _, err := nameOn(x, tk); err != nil {
				t.Fatal(err)
			}
		}
	}
	bob, err := n.b.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}

	// A profile change on b shows on a.
	name := "Bob Chen"
	if _, err := n.b.UpdateMe(ctx, bob, app.ProfileUpdate{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}
	if got, err := nameOn(n.b, tok); got != name || err != nil {
		t.Fatalf("on the node that changed it: %q, %v", got, err)
	}
	eventually(t, func() string {
		if got, err := nameOn(n.a, tok); got != name || err != nil {
			return "the other node still has the old profile: " + got
		}
		return ""
	})

	// Logout on a: refused on a at once, on b once the event is there.
	if err := n.a.Logout(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := n.a.Authenticate(ctx, tok); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("the node that revoked it still takes the token: %v", err)
	}
	eventually(t, func() string {
		if _, err := n.b.Authenticate(ctx, tok); !parley.IsCode(err, parley.CodeUnauthenticated) {
			return "the other node still takes a revoked token"
		}
		return ""
	})

	// Disabled by an admin on a: the other session is refused on b.
	adminActor, err := n.a.Authenticate(ctx, adminTok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.a.DisableUser(ctx, adminActor, bob.UserID); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string {
		if _, err := n.b.Authenticate(ctx, tok2); !parley.IsCode(err, parley.CodeUnauthenticated) {
			return "the other node still takes a disabled account's token"
		}
		return ""
	})

	// Behind the servers' backs (the database edited directly): seen once
	// the kept read is AuthCacheTTL old.
	carol, carolTok, err := n.a.Register(ctx, app.RegisterInput{Username: "carol", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.b.Authenticate(ctx, carolTok); err != nil {
		t.Fatal(err)
	}
	carol.Disabled = true
	if err := n.raw.UpdateUser(ctx, carol); err != nil {
		t.Fatal(err)
	}
	if _, err := n.b.Authenticate(ctx, carolTok); err != nil {
		t.Fatalf("within the TTL the kept read stands (the documented bound): %v", err)
	}
	n.clock.Add(app.AuthCacheTTL)
	if _, err := n.b.Authenticate(ctx, carolTok); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("after the TTL: %v", err)
	}
}

// TestAuthCacheKeptExpiryRechecked: a node whose kept read says a session
// has just expired reads it again before ending it: another node may have
// used it since, sliding its expiry.
func TestAuthCacheKeptExpiryRechecked(t *testing.T) {
	n := newTwoNodes(t, func(o *app.Options) { o.Limits.SessionTTL = 65 * time.Second })
	ctx := context.Background()
	u, tok, err := n.a.Register(ctx, app.RegisterInput{Username: "dora", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	n.clock.Add(59 * time.Second)
	if _, err := n.b.Authenticate(ctx, tok); err != nil { // b keeps it: expires in 6 s (too soon after sign-in to slide it)
		t.Fatal(err)
	}
	n.clock.Add(2 * time.Second)
	if _, err := n.a.Authenticate(ctx, tok); err != nil { // a slides the expiry (written within 200 ms)
		t.Fatal(err)
	}
	eventually(t, func() string {
		list, err := n.raw.Sessions(ctx, u.ID)
		if err != nil || len(list) != 1 || !list[0].ExpiresAt.After(n.clock.Now().Add(time.Minute)) {
			return "the slid expiry was not written"
		}
		return ""
	})
	n.clock.Add(5 * time.Second) // past what b kept, 7 s after b read it
	if _, err := n.b.Authenticate(ctx, tok); err != nil {
		t.Fatalf("b ended a session a used 5 s ago: %v", err)
	}
	if list, _ := n.raw.Sessions(ctx, u.ID); len(list) != 1 {
		t.Fatalf("%d sessions left, want 1", len(list))
	}
}
