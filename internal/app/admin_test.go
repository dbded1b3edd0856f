package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestDisableEndsSessionsAtOnceAndEnableRestores(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	root, err := e.app.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: "root", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	_, rootTok, err := e.app.Login(ctx, app.LoginInput{Username: "root", Password: acctPassword})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.auth(t, rootTok)
	if !admin.Admin() || admin.UserID != root.ID {
		t.Fatalf("admin actor %+v", admin)
	}
	u, tok1, user := e.register(t, "mallory")
	_, tok2, _ := e.app.Login(ctx, app.LoginInput{Username: "mallory", Password: acctPassword})

	_, err = e.app.DisableUser(ctx, user, root.ID)
	wantErr(t, "non-admin disables", err, parley.CodeForbidden, "")
	_, err = e.app.DisableUser(ctx, parley.Actor{}, u.ID)
	wantErr(t, "anonymous disables", err, parley.CodeUnauthenticated, "")
	_, err = e.app.DisableUser(ctx, admin, parley.NewID())
	wantErr(t, "unknown user", err, parley.CodeNotFound, "")
	_, err = e.app.DisableUser(ctx, admin, "junk")
	wantErr(t, "malformed id", err, parley.CodeNotFound, "")
	_, err = e.app.DisableUser(ctx, admin, root.ID)
	wantErr(t, "self", err, parley.CodeConflict, "")
	e.noEvent(t)

	got, err := e.app.DisableUser(ctx, admin, u.ID)
	if err != nil || !got.Disabled {
		t.Fatalf("disable = %+v, %v", got, err)
	}
	ev := e.nextEvent(t)
	if ev.Kind != parley.EventSessionRevoked || !slices.Equal(ev.UserIDs, []string{u.ID}) || len(ev.SessionIDs) != 2 {
		t.Fatalf("event %+v, want session_revoked for user %s with its 2 sessions", ev, u.ID)
	}
	for _, tok := range []string{tok1, tok2} {
		_, err := e.app.Authenticate(ctx, tok)
		wantErr(t, "disabled user's token", err, parley.CodeUnauthenticated, "")
	}
	if list, _ := e.store.Sessions(ctx, u.ID); len(list) != 0 {
		t.Fatalf("sessions left: %+v", list)
	}
	// Still visible by id (old messages show their author), marked disabled.
	if v, err := e.app.User(ctx, admin, u.ID); err != nil || !v.Disabled {
		t.Fatalf("User(disabled) = %+v, %v", v, err)
	}

	got, err = e.app.EnableUser(ctx, admin, u.ID)
	if err != nil || got.Disabled {
		t.Fatalf("enable = %+v, %v", got, err)
	}
	_, err = e.app.EnableUser(ctx, user, u.ID)
	wantErr(t, "non-admin enables", err, parley.CodeForbidden, "")
	if _, err := e.app.Authenticate(ctx, tok1); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("old session came back after enable: %v", err)
	}
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "mallory", Password: acctPassword}); err != nil {
		t.Fatalf("login after enable: %v", err)
	}
}

func TestLastEnabledAdminCannotBeDisabled(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	a1, _ := e.app.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: "admin1", Password: acctPassword})
	_, err := e.app.DisableUser(ctx, app.Operator, a1.ID)
	wantErr(t, "last admin", err, parley.CodeConflict, "")
	a2, _ := e.app.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: "admin2", Password: acctPassword})
	if _, err := e.app.DisableUser(ctx, app.Operator, a1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.DisableUser(ctx, app.Operator, a2.ID)
	wantErr(t, "now the last admin", err, parley.CodeConflict, "")
}

func TestCreateAdminAndFindUserAreOperatorOnly(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	u, _, user := e.register(t, "olga")
	_, err := e.app.CreateAdmin(ctx, user, app.RegisterInput{Username: "evil", Password: acctPassword})
	wantErr(t, "user creates admin", err, parley.CodeForbidden, "")
	_, err = e.app.CreateAdmin(ctx, parley.Actor{}, app.RegisterInput{Username: "evil", Password: acctPassword})
	wantErr(t, "anonymous creates admin", err, parley.CodeUnauthenticated, "")
	_, err = e.app.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: "OLGA", Password: acctPassword})
	wantErr(t, "taken", err, parley.CodeConflict, "username")
	_, err = e.app.FindUser(ctx, user, "olga")
	wantErr(t, "user finds", err, parley.CodeForbidden, "")
	for _, ref := range []string{"olga", "Olga", u.ID} {
		got, err := e.app.FindUser(ctx, app.Operator, ref)
		if err != nil || got.ID != u.ID {
			t.Fatalf("FindUser(%q) = %+v, %v", ref, got, err)
		}
	}
	_, err = e.app.FindUser(ctx, app.Operator, "nobody")
	wantErr(t, "unknown", err, parley.CodeNotFound, "")
	_, err = e.app.FindUser(ctx, app.Operator, "no such thing!")
	wantErr(t, "junk", err, parley.CodeNotFound, "")
}
