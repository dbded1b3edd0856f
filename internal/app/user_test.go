package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// acctClock is a settable clock for the accounts tests.
type acctClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *acctClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *acctClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// acctEnv is an App on a real SQLite store and in-process bus, with fast
// password hashing and a fake clock. Events published on the bus are
// collected in events.
type acctEnv struct {
	app    *app.App
	store  parley.Store
	clock  *acctClock
	events chan parley.Event
}

func newAcctEnv(t *testing.T, configure func(*app.Options)) *acctEnv {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	e := &acctEnv{store: store, clock: &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)},
		events: make(chan parley.Event, 100)}
	unsub, err := bus.Subscribe(func(ev parley.Event) { e.events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unsub(); _ = bus.Close(); _ = store.Close() })
	o := app.Options{Store: store, Bus: bus, Now: e.clock.Now,
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}}
	if configure != nil {
		configure(&o)
	}
	e.app = app.New(o)
	return e
}

const acctPassword = "s3cret-passw0rd"

// register creates username and returns the account, its token and Actor.
func (e *acctEnv) register(t *testing.T, username string) (parley.User, string, parley.Actor) {
	t.Helper()
	u, tok, err := e.app.Register(context.Background(), app.RegisterInput{Username: username, Password: acctPassword,
		UserAgent: "test-agent", Address: "192.0.2.1"})
	if err != nil {
		t.Fatalf("register %s: %v", username, err)
	}
	return u, tok, e.auth(t, tok)
}

func (e *acctEnv) auth(t *testing.T, tok string) parley.Actor {
	t.Helper()
	a, err := e.app.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return a
}

// nextEvent returns the next published event that connections see (not
// EventAuthChanged, which only apps read); it fails if none arrives.
func (e *acctEnv) nextEvent(t *testing.T) parley.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e.events:
			if ev.Kind != parley.EventAuthChanged {
				return ev
			}
		case <-timeout:
			t.Fatal("no event published")
			return parley.Event{}
		}
	}
}

func (e *acctEnv) noEvent(t *testing.T) {
	t.Helper()
	for {
		select {
		case ev := <-e.events:
			if ev.Kind != parley.EventAuthChanged {
				t.Fatalf("unexpected event %+v", ev)
			}
		default:
			return
		}
	}
}

func wantErr(t *testing.T, what string, err error, code parley.Code, field string) *parley.Error {
	t.Helper()
	if !parley.IsCode(err, code) {
		t.Fatalf("%s: got %v, want code %s", what, err, code)
	}
	pe := parley.AsError(err)
	if pe.Field != field {
		t.Fatalf("%s: field %q, want %q (%v)", what, pe.Field, field, err)
	}
	return pe
}

func TestRegisterRefusesBadInputAndStoresNothing(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	long := func(n int, c string) string { return strings.Repeat(c, n) }
	cases := []struct {
		name string
		in   app.RegisterInput
		code parley.Code
		fld  string
	}{
		{"missing username", app.RegisterInput{Password: acctPassword}, parley.CodeInvalid, "username"},
		{"short username", app.RegisterInput{Username: "ab", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"long username", app.RegisterInput{Username: long(33, "a"), Password: acctPassword}, parley.CodeTooLarge, "username"},
		{"space", app.RegisterInput{Username: "al ice", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"cyrillic look-alike", app.RegisterInput{Username: "\u0430lice", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"full-width", app.RegisterInput{Username: "ａｌｉｃｅ", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"zero-width", app.RegisterInput{Username: "ali\u200bce", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"leading dot", app.RegisterInput{Username: ".alice", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"trailing dash", app.RegisterInput{Username: "alice-", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"nul", app.RegisterInput{Username: "ali\x00ce", Password: acctPassword}, parley.CodeInvalid, "username"},
		{"missing password", app.RegisterInput{Username: "alice"}, parley.CodeInvalid, "password"},
		{"short password", app.RegisterInput{Username: "alice", Password: "1234567"}, parley.CodeInvalid, "password"},
		{"long password", app.RegisterInput{Username: "alice", Password: long(257, "p")}, parley.CodeTooLarge, "password"},
		{"display name control", app.RegisterInput{Username: "alice", Password: acctPassword, DisplayName: "Al\x07ice"}, parley.CodeInvalid, "display_name"},
		{"display name bidi", app.RegisterInput{Username: "alice", Password: acctPassword, DisplayName: "Al\u202eice"}, parley.CodeInvalid, "display_name"},
		{"display name newline", app.RegisterInput{Username: "alice", Password: acctPassword, DisplayName: "Al\nice"}, parley.CodeInvalid, "display_name"},
		{"display name long", app.RegisterInput{Username: "alice", Password: acctPassword, DisplayName: long(65, "é")}, parley.CodeTooLarge, "display_name"},
		{"display name bad utf8", app.RegisterInput{Username: "alice", Password: acctPassword, DisplayName: "Al\xffice"}, parley.CodeInvalid, "display_name"},
		{"display name blank", app.RegisterInput{Username: "alice", Password: acctPassword, DisplayName: "   "}, parley.CodeInvalid, "display_name"},
		{"email no at", app.RegisterInput{Username: "alice", Password: acctPassword, Email: "alice.example.org"}, parley.CodeInvalid, "email"},
		{"email space", app.RegisterInput{Username: "alice", Password: acctPassword, Email: "al ice@example.org"}, parley.CodeInvalid, "email"},
		{"email long", app.RegisterInput{Username: "alice", Password: acctPassword, Email: long(250, "a") + "@x.org"}, parley.CodeTooLarge, "email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.app.Register(ctx, c.in)
			wantErr(t, c.name, err, c.code, c.fld)
		})
	}
	if _, err := e.store.UserByUsername(ctx, "alice"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("a refused registration stored a user: %v", err)
	}
	// 64 characters of multi-byte text is fine; so are 8 bytes and 256 bytes of password.
	u, _, err := e.app.Register(ctx, app.RegisterInput{Username: "Alice.B_C-9", Password: long(256, "p"),
		DisplayName: "  " + long(64, "é") + " ", Email: " alice@example.org "})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice.b_c-9" || u.DisplayName != long(64, "é") || u.Email != "alice@example.org" ||
		u.Role != parley.UserRoleUser || u.Settings.Theme != "system" || u.Disabled {
		t.Fatalf("registered %+v", u)
	}
	if u2, _, _ := e.register(t, "bob"); u2.DisplayName != "bob" {
		t.Fatalf("display name should default to the username, got %q", u2.DisplayName)
	}
}

func TestUsernamesAreCaseInsensitivelyUnique(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	e.register(t, "Alice")
	for _, name := range []string{"alice", "ALICE", "aLiCe"} {
		_, _, err := e.app.Register(ctx, app.RegisterInput{Username: name, Password: "other-password"})
		wantErr(t, name, err, parley.CodeConflict, "username")
	}
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "ALICE", Password: acctPassword}); err != nil {
		t.Fatalf("login with other letter case: %v", err)
	}
	// The refused registrations did not replace the password.
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "alice", Password: "other-password"}); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("login with the refused password: %v", err)
	}
}

func TestStoredHashIsArgon2idWithOWASPParameters(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Passwords = app.PasswordOptions{} }) // the defaults
	u, _, _ := e.register(t, "carol")
	h, err := e.store.PasswordHash(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash %q: want PHC argon2id v=19 m=19456,t=2,p=1", h)
	}
	p, salt, key, err := app.ParsePasswordHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory < 19456 || p.Time < 2 || p.Threads < 1 || len(salt) < 16 || len(key) < 32 {
		t.Fatalf("parameters %+v salt %d key %d below OWASP minimum", p, len(salt), len(key))
	}
	if strings.Contains(h, acctPassword) {
		t.Fatal("hash contains the password")
	}
	if _, _, err := e.app.Login(context.Background(), app.LoginInput{Username: "carol", Password: acctPassword}); err != nil {
		t.Fatal(err)
	}
}

func TestLoginDoesNotRevealWhichAccountsExist(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	e.register(t, "dave")
	_, _, errWrong := e.app.Login(ctx, app.LoginInput{Username: "dave", Password: "wrong-password"})
	_, _, errUnknown := e.app.Login(ctx, app.LoginInput{Username: "nobody", Password: "wrong-password"})
	a, b := wantErr(t, "wrong", errWrong, parley.CodeUnauthenticated, ""), wantErr(t, "unknown", errUnknown, parley.CodeUnauthenticated, "")
	if a.Message != b.Message {
		t.Fatalf("messages differ: %q vs %q", a.Message, b.Message)
	}
}

func TestLoginRateLimitedPerAccount(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) {
		o.Limits.LoginFailuresPerUser, o.Limits.LoginFailuresPerAddr, o.Limits.LoginWindow = 3, 100, 15*time.Minute
	})
	ctx := context.Background()
	e.register(t, "erin")
	e.register(t, "frank")
	for i := range 3 {
		_, _, err := e.app.Login(ctx, app.LoginInput{Username: "erin", Password: "wrong-password", Address: "198.51.100.1"})
		wantErr(t, "failure", err, parley.CodeUnauthenticated, "")
		_ = i
	}
	// Now even the right password, from another address, is refused until the wait is over.
	_, _, err := e.app.Login(ctx, app.LoginInput{Username: "erin", Password: acctPassword, Address: "198.51.100.2"})
	pe := wantErr(t, "throttled", err, parley.CodeRateLimited, "")
	if pe.RetryAfter <= 0 || pe.RetryAfter > 15*time.Minute {
		t.Fatalf("RetryAfter = %v", pe.RetryAfter)
	}
	// Unknown accounts are throttled the same way (no enumeration by 429).
	for range 3 {
		_, _, err := e.app.Login(ctx, app.LoginInput{Username: "ghost", Password: "wrong-password", Address: "198.51.100.1"})
		wantErr(t, "unknown failure", err, parley.CodeUnauthenticated, "")
	}
	_, _, err = e.app.Login(ctx, app.LoginInput{Username: "ghost", Password: "wrong-password"})
	wantErr(t, "unknown throttled", err, parley.CodeRateLimited, "")
	// Other accounts are not affected.
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "frank", Password: acctPassword, Address: "198.51.100.1"}); err != nil {
		t.Fatalf("other account: %v", err)
	}
	e.clock.Add(pe.RetryAfter)
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "erin", Password: acctPassword}); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
}

func TestLoginRateLimitedPerAddress(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) {
		o.Limits.LoginFailuresPerUser, o.Limits.LoginFailuresPerAddr = 100, 4
	})
	ctx := context.Background()
	e.register(t, "grace")
	for _, name := range []string{"u1x", "u2x", "u3x", "grace"} {
		_, _, err := e.app.Login(ctx, app.LoginInput{Username: name, Password: "wrong-password", Address: "203.0.113.9"})
		wantErr(t, name, err, parley.CodeUnauthenticated, "")
	}
	_, _, err := e.app.Login(ctx, app.LoginInput{Username: "grace", Password: acctPassword, Address: "203.0.113.9"})
	wantErr(t, "address throttled", err, parley.CodeRateLimited, "")
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "grace", Password: acctPassword, Address: "203.0.113.10"}); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestSuccessfulLoginClearsAccountFailures(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Limits.LoginFailuresPerUser = 3 })
	ctx := context.Background()
	e.register(t, "heidi")
	for round := range 3 {
		for range 2 {
			_, _, err := e.app.Login(ctx, app.LoginInput{Username: "heidi", Password: "wrong-password", Address: string(rune('a' + round))})
			wantErr(t, "failure", err, parley.CodeUnauthenticated, "")
		}
		if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "heidi", Password: acctPassword}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func TestLoginBadInput(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, err := e.app.Login(ctx, app.LoginInput{Password: acctPassword})
	wantErr(t, "no username", err, parley.CodeInvalid, "username")
	_, _, err = e.app.Login(ctx, app.LoginInput{Username: "ivan"})
	wantErr(t, "no password", err, parley.CodeInvalid, "password")
	_, _, err = e.app.Login(ctx, app.LoginInput{Username: "ivan", Password: strings.Repeat("x", 100000)})
	wantErr(t, "huge password", err, parley.CodeTooLarge, "password")
}

func TestLoginUpgradesHashMadeWithOtherParameters(t *testing.T) {
	e := newAcctEnv(t, nil)
	u, _, _ := e.register(t, "judy")
	stronger := app.FastPasswordParams()
	stronger.Memory, stronger.Time = 128, 2
	a2 := app.New(app.Options{Store: e.store, Bus: memory.New(), Passwords: app.PasswordOptions{Params: stronger}})
	if _, _, err := a2.Login(context.Background(), app.LoginInput{Username: "judy", Password: acctPassword}); err != nil {
		t.Fatal(err)
	}
	h, _ := e.store.PasswordHash(context.Background(), u.ID)
	if p, _, _, err := app.ParsePasswordHash(h); err != nil || p != stronger {
		t.Fatalf("hash after login has %+v (%v), want %+v", p, err, stronger)
	}
	if _, _, err := a2.Login(context.Background(), app.LoginInput{Username: "judy", Password: acctPassword}); err != nil {
		t.Fatal(err)
	}
}

func TestDisabledAccountCannotSignIn(t *testing.T) {
	e := newAcctEnv(t, nil)
	u, _, _ := e.register(t, "kate")
	if _, err := e.app.DisableUser(context.Background(), app.Operator, u.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.app.Login(context.Background(), app.LoginInput{Username: "kate", Password: acctPassword})
	wantErr(t, "disabled", err, parley.CodeForbidden, "")
	_, _, err = e.app.Login(context.Background(), app.LoginInput{Username: "kate", Password: "wrong-password"})
	wantErr(t, "disabled, wrong password", err, parley.CodeUnauthenticated, "")
}

func TestUpdateMe(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	u, _, me := e.register(t, "liam")
	e.clock.Add(time.Second)
	got, err := e.app.UpdateMe(ctx, me, app.ProfileUpdate{DisplayName: ptr(" Liam L. "), StatusText: ptr("on holiday 🏖"),
		Email: ptr("liam@example.org"), Theme: ptr("dark")})
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Liam L." || got.StatusText != "on holiday 🏖" || got.Email != "liam@example.org" ||
		got.Settings.Theme != "dark" || !got.UpdatedAt.After(u.UpdatedAt) || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("updated %+v", got)
	}
	stored, _ := e.app.Me(ctx, me)
	if stored.DisplayName != got.DisplayName || stored.Settings != got.Settings || stored.Email != got.Email {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	// Partial update keeps the rest; "" clears email and status.
	got, err = e.app.UpdateMe(ctx, me, app.ProfileUpdate{Email: ptr(""), StatusText: ptr("")})
	if err != nil || got.Email != "" || got.StatusText != "" || got.DisplayName != "Liam L." || got.Settings.Theme != "dark" {
		t.Fatalf("partial update: %+v, %v", got, err)
	}
	bad := []struct {
		in    app.ProfileUpdate
		code  parley.Code
		field string
	}{
		{app.ProfileUpdate{DisplayName: ptr("")}, parley.CodeInvalid, "display_name"},
		{app.ProfileUpdate{DisplayName: ptr(strings.Repeat("x", 65))}, parley.CodeTooLarge, "display_name"},
		{app.ProfileUpdate{StatusText: ptr(strings.Repeat("x", 141))}, parley.CodeTooLarge, "status_text"},
		{app.ProfileUpdate{StatusText: ptr("a\u2066b")}, parley.CodeInvalid, "status_text"},
		{app.ProfileUpdate{Email: ptr("nope")}, parley.CodeInvalid, "email"},
		{app.ProfileUpdate{Theme: ptr("purple")}, parley.CodeInvalid, "settings.theme"},
		{app.ProfileUpdate{Theme: ptr("")}, parley.CodeInvalid, "settings.theme"},
		// One bad field refuses the whole update.
		{app.ProfileUpdate{DisplayName: ptr("New Name"), Theme: ptr("purple")}, parley.CodeInvalid, "settings.theme"},
	}
	for i, c := range bad {
		_, err := e.app.UpdateMe(ctx, me, c.in)
		wantErr(t, "bad update "+string(rune('0'+i)), err, c.code, c.field)
	}
	after, _ := e.app.Me(ctx, me)
	if after.DisplayName != "Liam L." || after.Settings.Theme != "dark" {
		t.Fatalf("refused updates changed the profile: %+v", after)
	}
	_, err = e.app.UpdateMe(ctx, parley.Actor{}, app.ProfileUpdate{})
	wantErr(t, "anonymous", err, parley.CodeUnauthenticated, "")
}

func ptr[T any](v T) *T { return &v }

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, tok1, me := e.register(t, "mia")
	_, tok2, err := e.app.Login(ctx, app.LoginInput{Username: "mia", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	other := e.auth(t, tok2)

	err = e.app.ChangePassword(ctx, me, "wrong-password", "new-password-1")
	wantErr(t, "wrong current", err, parley.CodeInvalid, "current_password")
	err = e.app.ChangePassword(ctx, me, acctPassword, "short")
	wantErr(t, "short new", err, parley.CodeInvalid, "new_password")
	err = e.app.ChangePassword(ctx, me, "", "new-password-1")
	wantErr(t, "missing current", err, parley.CodeInvalid, "current_password")
	e.noEvent(t)

	if err := e.app.ChangePassword(ctx, me, acctPassword, "new-password-1"); err != nil {
		t.Fatal(err)
	}
	ev := e.nextEvent(t)
	if ev.Kind != parley.EventSessionRevoked || len(ev.SessionIDs) != 1 || ev.SessionIDs[0] != other.SessionID || len(ev.UserIDs) != 0 {
		t.Fatalf("event %+v, want session_revoked of %s", ev, other.SessionID)
	}
	if _, err := e.app.Authenticate(ctx, tok2); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("other session still works: %v", err)
	}
	e.auth(t, tok1) // the current one still works
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "mia", Password: acctPassword}); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "mia", Password: "new-password-1"}); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestChangePasswordGuessingIsRateLimited(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Limits.LoginFailuresPerUser = 2 })
	ctx := context.Background()
	_, _, me := e.register(t, "noah")
	for range 2 {
		wantErr(t, "guess", e.app.ChangePassword(ctx, me, "guess-guess", "new-password-1"), parley.CodeInvalid, "current_password")
	}
	wantErr(t, "throttled", e.app.ChangePassword(ctx, me, acctPassword, "new-password-1"), parley.CodeRateLimited, "")
}

func TestUserLookups(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	ctxUser := func(name, email string) parley.User {
		u, _, err := e.app.Register(ctx, app.RegisterInput{Username: name, Password: acctPassword, Email: email})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	olivia := ctxUser("olivia", "olivia@example.org")
	_, _, pete := e.register(t, "pete")
	// Others do not see email; the user does; admins do.
	got, err := e.app.User(ctx, pete, olivia.ID)
	if err != nil || got.Email != "" || got.Username != "olivia" {
		t.Fatalf("User as other = %+v, %v", got, err)
	}
	got, _ = e.app.User(ctx, parley.Actor{UserID: olivia.ID}, olivia.ID)
	if got.Email != "olivia@example.org" {
		t.Fatalf("own email hidden: %+v", got)
	}
	got, _ = e.app.User(ctx, app.Operator, olivia.ID)
	if got.Email != "olivia@example.org" {
		t.Fatalf("admin does not see email: %+v", got)
	}
	_, err = e.app.User(ctx, pete, "not-an-id")
	wantErr(t, "malformed id", err, parley.CodeInvalid, "id")
	_, err = e.app.User(ctx, pete, parley.NewID())
	wantErr(t, "unknown id", err, parley.CodeNotFound, "")
	_, err = e.app.User(ctx, parley.Actor{}, olivia.ID)
	wantErr(t, "anonymous", err, parley.CodeUnauthenticated, "")

	list, err := e.app.UsersByID(ctx, pete, []string{pete.UserID, "junk", parley.NewID(), olivia.ID, pete.UserID})
	if err != nil || len(list) != 2 || list[0].ID != pete.UserID || list[1].ID != olivia.ID || list[1].Email != "" {
		t.Fatalf("UsersByID = %+v, %v", list, err)
	}
	_, err = e.app.UsersByID(ctx, parley.Actor{}, []string{olivia.ID})
	wantErr(t, "anonymous UsersByID", err, parley.CodeUnauthenticated, "")
}

func TestSearchUsers(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	var me parley.Actor
	for _, n := range []string{"sam", "sara", "sarah", "saul", "sid"} {
		_, _, me = e.register(t, n)
	}
	dis, _, _ := e.register(t, "sasha")
	if _, err := e.app.DisableUser(ctx, app.Operator, dis.ID); err != nil {
		t.Fatal(err)
	}
	names := func(us []parley.User) string {
		var s []string
		for _, u := range us {
			s = append(s, u.Username)
			if u.Email != "" {
				t.Fatalf("search leaks email of %s", u.Username)
			}
		}
		return strings.Join(s, ",")
	}
	us, next, err := e.app.SearchUsers(ctx, me, app.SearchUsersInput{Prefix: "@SA", Limit: 2})
	if err != nil || names(us) != "sam,sara" || next != "sara" {
		t.Fatalf("page 1 = %s next %q, %v", names(us), next, err)
	}
	us, next, err = e.app.SearchUsers(ctx, me, app.SearchUsersInput{Prefix: "sa", After: next, Limit: 2})
	if err != nil || names(us) != "sarah,saul" || next != "" {
		t.Fatalf("page 2 = %s next %q, %v", names(us), next, err)
	}
	us, next, err = e.app.SearchUsers(ctx, me, app.SearchUsersInput{Prefix: "sa", After: "saul", Limit: 2})
	if err != nil || names(us) != "" || next != "" {
		t.Fatalf("page 3 = %s next %q, %v", names(us), next, err)
	}
	us, next, err = e.app.SearchUsers(ctx, me, app.SearchUsersInput{})
	if err != nil || names(us) != "sam,sara,sarah,saul,sid" || next != "" {
		t.Fatalf("everyone = %s next %q, %v", names(us), next, err)
	}
	for _, c := range []struct {
		in    app.SearchUsersInput
		field string
	}{
		{app.SearchUsersInput{Limit: 101}, "limit"},
		{app.SearchUsersInput{Limit: -1}, "limit"},
		{app.SearchUsersInput{Prefix: "s a"}, "prefix"},
		{app.SearchUsersInput{Prefix: "ѕа"}, "prefix"},
		{app.SearchUsersInput{Prefix: strings.Repeat("s", 33)}, "prefix"},
		{app.SearchUsersInput{After: "%"}, "after"},
	} {
		_, _, err := e.app.SearchUsers(ctx, me, c.in)
		wantErr(t, "bad search", err, parley.CodeInvalid, c.field)
	}
	_, _, err = e.app.SearchUsers(ctx, parley.Actor{}, app.SearchUsersInput{})
	wantErr(t, "anonymous", err, parley.CodeUnauthenticated, "")
}

func TestConcurrentGuessesCannotOvershootTheLimit(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) {
		o.Limits.LoginFailuresPerUser, o.Limits.LoginFailuresPerAddr = 3, 1000
		o.Passwords.MaxConcurrent = 4
	})
	e.register(t, "olga")
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[parley.Code]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.app.Login(context.Background(), app.LoginInput{Username: "olga", Password: "wrong-password"})
			mu.Lock()
			counts[parley.ErrorCode(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[parley.CodeUnauthenticated] != 3 || counts[parley.CodeRateLimited] != 17 {
		t.Fatalf("outcomes %v; want exactly 3 checked guesses and 17 refusals", counts)
	}
}
