package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// App passwords let password-only clients (XMPP, MQTT) sign in to accounts
// whose password alone is not enough (two-factor sign-in). Each is 120
// random bits shown once as xxxx-xxxx-xxxx-xxxx-xxxx-xxxx; the store keeps
// its SHA-256 (random secrets need no slow hash).

// CreateAppPassword makes a new app password for the caller after checking
// the account password (CodeInvalid, field password, counted like a failed
// sign-in). It returns the record and the password, shown this once.
// CodeInvalid/CodeTooLarge (field name); CodeConflict beyond
// parley.AppPasswordsPerUser.
func (a *App) CreateAppPassword(ctx context.Context, actor parley.Actor, name, password string) (parley.AppPassword, string, error) {
	if actor.Anonymous() {
		return parley.AppPassword{}, "", unauthenticated("sign in first")
	}
	name, err := parley.CleanAppPasswordName(name)
	if err != nil {
		return parley.AppPassword{}, "", err
	}
	u, err := a.reauth(ctx, actor, password)
	if err != nil {
		return parley.AppPassword{}, "", err
	}
	var b [15]byte // 120 bits = 24 base32 letters
	if _, err := rand.Read(b[:]); err != nil {
		panic("parley: crypto/rand failed: " + err.Error())
	}
	raw := base32.StdEncoding.EncodeToString(b[:])
	var groups []string
	for i := 0; i < len(raw); i += 4 {
		groups = append(groups, strings.ToLower(raw[i:i+4]))
	}
	p := parley.AppPassword{ID: parley.NewID(), UserID: u.ID, Name: name, Hash: appPasswordHash(raw),
		CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	if err := a.store.CreateAppPassword(ctx, p); err != nil {
		return parley.AppPassword{}, "", err
	}
	a.log.Info("app password created", "user_id", u.ID, "app_password_id", p.ID)
	return p, strings.Join(groups, "-"), nil
}

func appPasswordHash(norm string) []byte {
	h := sha256.Sum256([]byte("app-password:" + norm))
	return h[:]
}

// AppPasswords lists the caller's app passwords, newest first.
func (a *App) AppPasswords(ctx context.Context, actor parley.Actor) ([]parley.AppPassword, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return a.store.AppPasswords(ctx, actor.UserID)
}

// RevokeAppPassword deletes one of the caller's app passwords: it signs in
// nowhere from then on. CodeNotFound if id is not one of the caller's.
func (a *App) RevokeAppPassword(ctx context.Context, actor parley.Actor, id string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "app password not found")
	}
	return a.store.DeleteAppPassword(ctx, actor.UserID, id)
}

// appPasswordSignIn signs in with an app password in place of the account
// password (the password-only gateways, through Login). ok is false when
// the password is not an app password of that account, and the caller goes
// on with the account password.
func (a *App) appPasswordSignIn(ctx context.Context, in LoginInput) (u parley.User, tok string, ok bool, err error) {
	norm, form := parley.AppPasswordForm(in.Password)
	if !form {
		return parley.User{}, "", false, nil
	}
	name, err := parley.CanonicalUsername(in.Username)
	if err != nil {
		return parley.User{}, "", false, nil
	}
	u, err = a.store.UserByUsername(ctx, name)
	if err != nil {
		return parley.User{}, "", false, nil
	}
	refund, err := a.reserveAttempt(name, in.Address)
	if err != nil {
		return parley.User{}, "", true, err
	}
	p, err := a.store.UseAppPassword(ctx, u.ID, appPasswordHash(norm), a.now().UTC().Truncate(time.Millisecond))
	// Not found: the account password path counts the failure.
	refund(true, true)
	if err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.User{}, "", false, nil
		}
		return parley.User{}, "", true, err
	}
	if u.Disabled {
		return parley.User{}, "", true, parley.Errorf(parley.CodeForbidden, "this account is disabled")
	}
	a.acct.loginUser.Reset(name)
	_, tok, err = a.createSession(ctx, u.ID, in.UserAgent+" · app password "+p.Name, in.Address)
	if err != nil {
		return parley.User{}, "", true, err
	}
	a.log.Info("sign-in", "username", name, "user_id", u.ID, "address", in.Address, "app_password_id", p.ID)
	return u, tok, true, nil
}

// dropAppPasswords revokes every app password of userID: a new password
// (changed or reset) ends whatever the old one may have handed out.
func (a *App) dropAppPasswords(ctx context.Context, userID string) {
	if n, err := a.store.DeleteUserAppPasswords(context.WithoutCancel(ctx), userID); err != nil {
		a.log.Warn("revoke app passwords", "user_id", userID, "err", err)
	} else if n > 0 {
		a.log.Info("app passwords revoked", "user_id", userID, "count", n)
	}
}
