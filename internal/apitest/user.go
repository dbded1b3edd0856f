package apitest

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
)

// Password is the password NewUser and NewAdmin give every account.
const Password = "correct horse battery staple"

// NewUser registers username (password Password) and returns a signed-in,
// validating SDK client for it and the new account. It fails the test on
// error.
func (e *Env) NewUser(t testing.TB, username string) (*client.Client, parley.User) {
	t.Helper()
	c := e.Client(client.WithUserAgent("apitest/" + username))
	res, err := c.Register(context.Background(), client.RegisterRequest{Username: username, Password: Password})
	if err != nil {
		t.Fatalf("register %q: %v", username, err)
	}
	return c, res.User
}

// NewAdmin creates an admin account as the operator would (parley admin
// create-admin) and returns a signed-in, validating SDK client for it.
func (e *Env) NewAdmin(t testing.TB, username string) (*client.Client, parley.User) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Server.App.CreateAdmin(ctx, app.Operator, app.RegisterInput{Username: username, Password: Password})
	if err != nil {
		t.Fatalf("create admin %q: %v", username, err)
	}
	c := e.Client(client.WithUserAgent("apitest/" + username))
	if _, err := c.Login(ctx, username, Password); err != nil {
		t.Fatalf("login admin %q: %v", username, err)
	}
	return c, u
}

// NewOrgUser creates an account in the organisation with slug org, with
// the given role (as a server admin would), and returns a signed-in,
// validating SDK client for it.
func (e *Env) NewOrgUser(t testing.TB, org, username string, role parley.UserRole) (*client.Client, parley.User) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Server.App.AdminCreateUser(ctx, app.Operator, app.RegisterInput{Username: username, Password: Password, Org: org}, role)
	if err != nil {
		t.Fatalf("create %q in %q: %v", username, org, err)
	}
	c := e.Client(client.WithUserAgent("apitest/" + username))
	if _, err := c.Login(ctx, username, Password); err != nil {
		t.Fatalf("login %q: %v", username, err)
	}
	return c, u
}
