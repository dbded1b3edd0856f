package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// newAdmin creates an admin account through the operator and signs it in.
func (e *acctEnv) newAdmin(t *testing.T, name string) (parley.User, parley.Actor) {
	t.Helper()
	ctx := context.Background()
	u, err := e.app.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: name, Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := e.app.Login(ctx, app.LoginInput{Username: name, Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	return u, e.auth(t, tok)
}

func reg(name, invite string) app.RegisterInput {
	return app.RegisterInput{Username: name, Password: acctPassword, Address: "192.0.2.9", Invite: invite}
}

func TestRegistrationClosedRefusesEveryone(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Registration = parley.RegistrationClosed })
	ctx := context.Background()
	_, _, err := e.app.Register(ctx, reg("alice", ""))
	wantErr(t, "closed", err, parley.CodeForbidden, "registration")
	if !strings.Contains(err.Error(), "closed") {
		t.Fatalf("message %q does not say registration is closed", err)
	}
	_, admin := e.newAdmin(t, "root")
	inv, err := e.app.CreateInvite(ctx, admin, app.InviteInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.app.Register(ctx, reg("alice", inv.Code))
	wantErr(t, "closed with invite", err, parley.CodeForbidden, "registration")
	// Admins still create accounts.
	if _, err := e.app.AdminCreateUser(ctx, admin, reg("alice", ""), parley.UserRoleUser); err != nil {
		t.Fatalf("admin creates account on a closed server: %v", err)
	}
}

func TestRegistrationByInvite(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Registration = parley.RegistrationInvite })
	ctx := context.Background()
	_, admin := e.newAdmin(t, "root")
	_, _, err := e.app.Register(ctx, reg("alice", ""))
	wantErr(t, "no invite", err, parley.CodeForbidden, "invite")
	_, _, err = e.app.Register(ctx, reg("alice", "made-up-code"))
	wantErr(t, "unknown invite", err, parley.CodeForbidden, "invite")
	_, _, err = e.app.Register(ctx, reg("alice", strings.Repeat("x", 65)))
	wantErr(t, "too long invite", err, parley.CodeTooLarge, "invite")

	two, err := e.app.CreateInvite(ctx, admin, app.InviteInput{MaxUses: 2, Note: "the Smiths"})
	if err != nil || two.MaxUses != 2 || two.Code == "" || two.ExpiresAt != nil {
		t.Fatalf("CreateInvite = %+v, %v", two, err)
	}
	// A bad form spends no use of the invite.
	_, _, err = e.app.Register(ctx, app.RegisterInput{Username: "alice", Password: "short", Invite: two.Code})
	wantErr(t, "short password", err, parley.CodeInvalid, "password")
	for _, name := range []string{"alice", "bob"} {
		if _, _, err := e.app.Register(ctx, reg(name, two.Code)); err != nil {
			t.Fatalf("register %s with invite: %v", name, err)
		}
	}
	_, _, err = e.app.Register(ctx, reg("carol", two.Code))
	wantErr(t, "used up", err, parley.CodeForbidden, "invite")
	// A taken username gives the use back.
	one, _ := e.app.CreateInvite(ctx, admin, app.InviteInput{MaxUses: 1})
	_, _, err = e.app.Register(ctx, reg("alice", one.Code))
	wantErr(t, "taken", err, parley.CodeConflict, "username")
	if _, _, err := e.app.Register(ctx, reg("carol", one.Code)); err != nil {
		t.Fatalf("invite use not given back after a failed registration: %v", err)
	}

	exp, _ := e.app.CreateInvite(ctx, admin, app.InviteInput{ExpiresIn: time.Hour})
	e.clock.Add(time.Hour)
	_, _, err = e.app.Register(ctx, reg("dave", exp.Code))
	wantErr(t, "expired", err, parley.CodeForbidden, "invite")

	rev, _ := e.app.CreateInvite(ctx, admin, app.InviteInput{MaxUses: 5})
	if _, err := e.app.RevokeInvite(ctx, admin, rev.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.app.Register(ctx, reg("dave", rev.Code))
	wantErr(t, "revoked", err, parley.CodeForbidden, "invite")
	_, err = e.app.RevokeInvite(ctx, admin, parley.NewID())
	wantErr(t, "revoke unknown", err, parley.CodeNotFound, "")
	_, err = e.app.RevokeInvite(ctx, admin, "../etc")
	wantErr(t, "revoke bad id", err, parley.CodeNotFound, "")

	list, err := e.app.Invites(ctx, admin)
	if err != nil || len(list) != 4 || list[3].ID != two.ID || list[3].Uses != 2 || list[0].RevokedAt == nil {
		t.Fatalf("Invites = %+v, %v", list, err)
	}
	for _, bad := range []app.InviteInput{{MaxUses: -1}, {MaxUses: 10001}, {ExpiresIn: -time.Second},
		{ExpiresIn: 400 * 24 * time.Hour}, {Note: "a\nb"}} {
		_, err := e.app.CreateInvite(ctx, admin, bad)
		if !parley.IsCode(err, parley.CodeInvalid) {
			t.Fatalf("CreateInvite(%+v) = %v, want invalid", bad, err)
		}
	}
	_, err = e.app.CreateInvite(ctx, admin, app.InviteInput{Note: strings.Repeat("n", 201)})
	wantErr(t, "long note", err, parley.CodeTooLarge, "note")
}

func TestSignupLimitPerAddress(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Limits.SignupsPerAddr = 3 })
	ctx := context.Background()
	for i, name := range []string{"ann", "ben", "cat"} {
		if _, _, err := e.app.Register(ctx, reg(name, "")); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	_, _, err := e.app.Register(ctx, reg("dan", ""))
	pe := wantErr(t, "4th sign-up", err, parley.CodeRateLimited, "")
	if pe.RetryAfter <= 0 || pe.RetryAfter > time.Hour {
		t.Fatalf("RetryAfter %v", pe.RetryAfter)
	}
	// Another address is not limited; time refills the budget.
	in := reg("dan", "")
	in.Address = "192.0.2.10"
	if _, _, err := e.app.Register(ctx, in); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(pe.RetryAfter)
	if _, _, err := e.app.Register(ctx, reg("eve", "")); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
}

func TestSetupTokenMakesTheFirstAdminOnce(t *testing.T) {
	e := newAcctEnv(t, func(o *app.Options) { o.Registration = parley.RegistrationClosed })
	ctx := context.Background()
	tok, err := e.app.PrepareSetup(ctx)
	if err != nil || tok == "" {
		t.Fatalf("PrepareSetup = %q, %v", tok, err)
	}
	in := reg("root", "")
	in.Setup = "wrong-" + tok[6:]
	_, _, err = e.app.Register(ctx, in)
	wantErr(t, "wrong token", err, parley.CodeForbidden, "setup")
	in.Setup = tok + "x"
	_, _, err = e.app.Register(ctx, in)
	wantErr(t, "long token", err, parley.CodeTooLarge, "setup")
	in.Setup = tok
	in.Password = "short"
	_, _, err = e.app.Register(ctx, in)
	wantErr(t, "bad form", err, parley.CodeInvalid, "password")
	in.Password = acctPassword
	u, _, err := e.app.Register(ctx, in)
	if err != nil || u.Role != parley.UserRoleAdmin {
		t.Fatalf("register with setup token = %+v, %v (closed policy must not matter)", u, err)
	}
	in.Username = "second"
	_, _, err = e.app.Register(ctx, in)
	wantErr(t, "token reused", err, parley.CodeForbidden, "setup")
	if tok, err := e.app.PrepareSetup(ctx); err != nil || tok != "" {
		t.Fatalf("PrepareSetup with an admin = %q, %v; want none", tok, err)
	}
	entries, _ := e.app.Audit(ctx, app.Operator, parley.AuditQuery{})
	if len(entries) != 1 || entries[0].Action != "user.create_first_admin" || entries[0].TargetID != u.ID {
		t.Fatalf("audit %+v", entries)
	}
}

func TestSetupTokenDiesWhenAnAdminIsCreatedOtherwise(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	tok, _ := e.app.PrepareSetup(ctx)
	e.newAdmin(t, "root")
	in := reg("late", "")
	in.Setup = tok
	_, _, err := e.app.Register(ctx, in)
	wantErr(t, "token after create-admin", err, parley.CodeForbidden, "setup")
}

func TestAdminToolsAreForAdminsOnly(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	root, _ := e.newAdmin(t, "root")
	_, _, user := e.register(t, "mallory")
	for _, actor := range []parley.Actor{user, {}} {
		code := parley.CodeForbidden
		if actor.Anonymous() {
			code = parley.CodeUnauthenticated
		}
		calls := map[string]func() error{
			"ListUsers": func() error { _, _, err := e.app.ListUsers(ctx, actor, app.SearchUsersInput{}); return err },
			"AdminUser": func() error { _, err := e.app.AdminUser(ctx, actor, root.ID); return err },
			"AdminCreateUser": func() error {
				_, err := e.app.AdminCreateUser(ctx, actor, reg("x1x", ""), parley.UserRoleAdmin)
				return err
			},
			"ResetPassword": func() error { _, err := e.app.ResetPassword(ctx, actor, root.ID, acctPassword+"2"); return err },
			"SetRole":       func() error { _, err := e.app.SetRole(ctx, actor, actor.UserID, parley.UserRoleAdmin); return err },
			"DeleteUser":    func() error { return e.app.DeleteUser(ctx, actor, root.ID) },
			"UserSessions":  func() error { _, err := e.app.UserSessions(ctx, actor, root.ID); return err },
			"Overview":      func() error { _, err := e.app.Overview(ctx, actor); return err },
			"CreateInvite":  func() error { _, err := e.app.CreateInvite(ctx, actor, app.InviteInput{}); return err },
			"Invites":       func() error { _, err := e.app.Invites(ctx, actor); return err },
			"RevokeInvite":  func() error { _, err := e.app.RevokeInvite(ctx, actor, parley.NewID()); return err },
			"Audit":         func() error { _, err := e.app.Audit(ctx, actor, parley.AuditQuery{}); return err },
		}
		for name, call := range calls {
			if err := call(); !parley.IsCode(err, code) {
				t.Fatalf("%s by %+v = %v, want %s", name, actor, err, code)
			}
		}
	}
	if u, _ := e.app.User(ctx, app.Operator, user.UserID); u.Role != parley.UserRoleUser {
		t.Fatal("non-admin changed its role")
	}
}

func TestAdminResetRoleDeleteSessionsAudit(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	root, admin := e.newAdmin(t, "root")
	bob, bobTok, _ := e.register(t, "bob")
	e.noEvent(t)

	// List and search, disabled accounts included.
	users, next, err := e.app.ListUsers(ctx, admin, app.SearchUsersInput{Prefix: "b"})
	if err != nil || len(users) != 1 || users[0].ID != bob.ID || next != "" {
		t.Fatalf("ListUsers(b) = %+v, %q, %v", users, next, err)
	}
	_, _, err = e.app.ListUsers(ctx, admin, app.SearchUsersInput{Prefix: strings.Repeat("a", 33)})
	wantErr(t, "long prefix", err, parley.CodeInvalid, "prefix")
	_, _, err = e.app.ListUsers(ctx, admin, app.SearchUsersInput{Limit: 101})
	wantErr(t, "limit", err, parley.CodeInvalid, "limit")

	sessions, err := e.app.UserSessions(ctx, admin, bob.ID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("UserSessions = %+v, %v", sessions, err)
	}
	_, err = e.app.UserSessions(ctx, admin, "not-an-id")
	wantErr(t, "sessions of bad id", err, parley.CodeNotFound, "")

	// Reset: every session ends, the new password works, the old does not.
	gen, err := e.app.ResetPassword(ctx, admin, bob.ID, "")
	if err != nil || len(gen) < parley.PasswordMinLen {
		t.Fatalf("ResetPassword = %q, %v", gen, err)
	}
	if ev := e.nextEvent(t); ev.Kind != parley.EventSessionRevoked || len(ev.SessionIDs) != 1 {
		t.Fatalf("event %+v", ev)
	}
	_, err = e.app.Authenticate(ctx, bobTok)
	wantErr(t, "old token after reset", err, parley.CodeUnauthenticated, "")
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "bob", Password: gen}); err != nil {
		t.Fatalf("sign in with the generated password: %v", err)
	}
	_, err = e.app.ResetPassword(ctx, admin, bob.ID, "short")
	wantErr(t, "short password", err, parley.CodeInvalid, "password")
	_, err = e.app.ResetPassword(ctx, admin, bob.ID, strings.Repeat("p", 257))
	wantErr(t, "long password", err, parley.CodeTooLarge, "password")
	_, err = e.app.ResetPassword(ctx, admin, parley.NewID(), acctPassword)
	wantErr(t, "unknown user", err, parley.CodeNotFound, "")

	// Roles: the last admin cannot be demoted.
	_, err = e.app.SetRole(ctx, admin, root.ID, parley.UserRoleUser)
	wantErr(t, "demote last admin", err, parley.CodeConflict, "")
	_, err = e.app.SetRole(ctx, admin, bob.ID, "owner")
	wantErr(t, "bad role", err, parley.CodeInvalid, "role")
	if u, err := e.app.SetRole(ctx, admin, bob.ID, parley.UserRoleAdmin); err != nil || u.Role != parley.UserRoleAdmin {
		t.Fatalf("promote = %+v, %v", u, err)
	}
	if u, err := e.app.SetRole(ctx, admin, root.ID, parley.UserRoleUser); err != nil || u.Role != parley.UserRoleUser {
		t.Fatalf("demote root with bob admin = %+v, %v", u, err)
	}
	// Delete: not the last admin, not yourself; then a tombstone.
	op := app.Operator
	err = e.app.DeleteUser(ctx, op, bob.ID)
	wantErr(t, "delete last admin", err, parley.CodeConflict, "")
	if _, err := e.app.SetRole(ctx, op, root.ID, parley.UserRoleAdmin); err != nil {
		t.Fatal(err)
	}
	err = e.app.DeleteUser(ctx, admin, root.ID)
	wantErr(t, "delete yourself", err, parley.CodeConflict, "")
	for len(e.events) > 0 {
		<-e.events
	}
	if err := e.app.DeleteUser(ctx, admin, bob.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if ev := e.nextEvent(t); ev.Kind != parley.EventSessionRevoked || len(ev.UserIDs) != 1 || ev.UserIDs[0] != bob.ID {
		t.Fatalf("event %+v", ev)
	}
	gone, err := e.app.User(ctx, admin, bob.ID)
	if err != nil || gone.DisplayName != parley.DeletedDisplayName || !gone.Deleted() {
		t.Fatalf("deleted user reads as %+v, %v", gone, err)
	}
	_, _, err = e.app.Login(ctx, app.LoginInput{Username: "bob", Password: gen})
	wantErr(t, "deleted user signs in", err, parley.CodeUnauthenticated, "")
	err = e.app.DeleteUser(ctx, admin, bob.ID)
	wantErr(t, "delete twice", err, parley.CodeNotFound, "")
	_, err = e.app.DisableUser(ctx, admin, bob.ID)
	wantErr(t, "disable deleted", err, parley.CodeNotFound, "")
	e.register(t, "bob") // the name is free again

	entries, err := e.app.Audit(ctx, admin, parley.AuditQuery{TargetID: bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action+"/"+en.Actor)
	}
	want := "user.delete/root user.promote/root user.reset_password/root"
	if strings.Join(actions, " ") != want {
		t.Fatalf("audit of bob = %v, want %s", actions, want)
	}
	all, _ := e.app.Audit(ctx, admin, parley.AuditQuery{Limit: 2})
	if len(all) != 2 || all[0].Action != "user.delete" {
		t.Fatalf("Audit(limit 2) = %+v", all)
	}
	if _, err := e.app.Audit(ctx, admin, parley.AuditQuery{Limit: 501}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("limit 501: %v", err)
	}
	if _, err := e.app.Audit(ctx, admin, parley.AuditQuery{Before: "x'; DROP"}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}

	o, err := e.app.Overview(ctx, admin)
	if err != nil || o.Counts.Users != 2 || o.Admins != 1 || o.Registration != parley.RegistrationOpen {
		t.Fatalf("Overview = %+v, %v", o, err)
	}
}

// logCapture is a slog handler recording messages and attributes.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) handler() slog.Handler {
	return slog.NewTextHandler(&lockedWriter{c}, &slog.HandlerOptions{Level: slog.LevelInfo})
}

type lockedWriter struct{ c *logCapture }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func TestOperatorLogLines(t *testing.T) {
	logs := &logCapture{}
	e := newAcctEnv(t, func(o *app.Options) {
		o.Logger = slog.New(logs.handler())
		o.Limits.LoginFailuresPerUser = 2
	})
	ctx := context.Background()
	_, admin := e.newAdmin(t, "root")
	bob, _, _ := e.register(t, "bob")
	_, _, _ = e.app.Login(ctx, app.LoginInput{Username: "bob", Password: "wrong-password", Address: "198.51.100.4"})
	_, _, _ = e.app.Login(ctx, app.LoginInput{Username: "ghost", Password: "wrong-password", Address: "198.51.100.4"})
	_, _, _ = e.app.Login(ctx, app.LoginInput{Username: "bob", Password: "wrong-password", Address: "198.51.100.4"})
	_, _, _ = e.app.Login(ctx, app.LoginInput{Username: "bob", Password: "wrong-password", Address: "198.51.100.4"})
	if _, err := e.app.DisableUser(ctx, admin, bob.ID); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{
		`msg=sign-in username=root`,
		`msg="account registered" user_id=` + bob.ID + ` username=bob role=user`,
		`msg="sign-in failed" username=bob user_id=` + bob.ID + ` address=198.51.100.4 reason="wrong password"`,
		`msg="sign-in failed" username=ghost address=198.51.100.4 reason="unknown user"`,
		`msg="sign-in locked out" username=bob address=198.51.100.4 scope=account`,
		`msg="admin action" action=user.disable actor=root`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
