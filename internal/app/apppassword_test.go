package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// App passwords sign in where the account password is refused (an account
// with two-factor sign-in on the password-only gateways, which use Login),
// once revoked nowhere, and all go with a password change.
func TestAppPasswords(t *testing.T) {
	e := newAcctEnv(t, nil)
	ctx := context.Background()
	_, _, actor := e.register(t, "gina")
	_, _, other := e.register(t, "hank")
	e.enable2FA(t, actor)
	login := func(pw string) (string, error) {
		_, tok, err := e.app.Login(ctx, app.LoginInput{Username: "gina", Password: pw, UserAgent: "XMPP"})
		return tok, err
	}
	if _, err := login(acctPassword); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("account password of a 2FA account on a gateway: %v", err)
	}
	_, _, err := e.app.CreateAppPassword(ctx, actor, "phone", "wrong-password")
	wantErr(t, "create with a wrong password", err, parley.CodeInvalid, "password")
	for _, bad := range []string{"", "   ", "a\nb", strings.Repeat("x", 65)} {
		if _, _, err := e.app.CreateAppPassword(ctx, actor, bad, acctPassword); err == nil || parley.AsError(err).Field != "name" {
			t.Fatalf("create named %q: %v", bad, err)
		}
	}
	p, secret, err := e.app.CreateAppPassword(ctx, actor, "Conversations on my phone", acctPassword)
	if err != nil || len(secret) != 29 || strings.Count(secret, "-") != 5 {
		t.Fatalf("create = %+v %q %v", p, secret, err)
	}
	tok, err := login(secret)
	if err != nil {
		t.Fatalf("app password sign-in: %v", err)
	}
	e.auth(t, tok)
	if _, err := login(strings.ToUpper(strings.ReplaceAll(secret, "-", " "))); err != nil {
		t.Fatalf("app password in another case and grouping: %v", err)
	}
	// Only for its own account; the REST sign-in does not take it.
	if _, _, err := e.app.Login(ctx, app.LoginInput{Username: "hank", Password: secret}); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("someone else's app password: %v", err)
	}
	if res, err := e.app.SignIn(ctx, app.LoginInput{Username: "gina", Password: secret}); err == nil {
		t.Fatalf("REST sign-in with an app password: %+v", res)
	}
	list, err := e.app.AppPasswords(ctx, actor)
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || list[0].Name != "Conversations on my phone" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	wantErr(t, "revoke someone else's", e.app.RevokeAppPassword(ctx, other, p.ID), parley.CodeNotFound, "")
	wantErr(t, "revoke a malformed id", e.app.RevokeAppPassword(ctx, actor, "x/y"), parley.CodeNotFound, "")
	if err := e.app.RevokeAppPassword(ctx, actor, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := login(secret); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("revoked app password: %v", err)
	}
	_, secret2, err := e.app.CreateAppPassword(ctx, actor, "laptop", acctPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.ChangePassword(ctx, actor, acctPassword, "a-new-passw0rd"); err != nil {
		t.Fatal(err)
	}
	if _, err := login(secret2); !parley.IsCode(err, parley.CodeUnauthenticated) {
		t.Fatalf("app password after a password change: %v", err)
	}
}

// SCRAM (XMPP) checks the account password, so it refuses accounts with
// two-factor sign-in even with the right proof.
func TestScramRefusesTwoFactorAccounts(t *testing.T) {
	ctx := context.Background()
	e := newAcctEnv(t, func(o *app.Options) { o.ScramKeys = true })
	_, _, actor := e.register(t, "sam")
	e.enable2FA(t, actor)
	const am = "n=sam,r=abc,r=abcdef,s=xx,i=4096,c=biws,r=abcdef"
	l, err := e.app.BeginScram(ctx, "sam", "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := scramProof(t, acctPassword, l.Salt, l.Iterations, am)
	_, tok, _, err := e.app.FinishScram(ctx, l, am, proof, "xmpp")
	if !parley.IsCode(err, parley.CodeUnauthenticated) || tok != "" {
		t.Fatalf("SCRAM of a 2FA account with the right password = %q, %v; want unauthenticated", tok, err)
	}
}
