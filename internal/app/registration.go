package app

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// registration is the App's sign-up state: the policy, the per-address
// sign-up limiter and the one-time setup token.
type registration struct {
	policy  parley.RegistrationPolicy
	perAddr *Limiter // nil: no limit

	mu    sync.Mutex
	setup string // "" once used, or when an admin exists
}

func newRegistration(p parley.RegistrationPolicy, l Limits, now func() time.Time) *registration {
	if !p.Valid() {
		p = parley.RegistrationOpen
	}
	r := &registration{policy: p}
	if l.SignupsPerAddr > 0 {
		r.perAddr = NewLimiter(float64(l.SignupsPerAddr)/l.SignupWindow.Seconds(), l.SignupsPerAddr, now)
	}
	return r
}

// Registration returns the policy in force.
func (a *App) Registration() parley.RegistrationPolicy { return a.reg.policy }

// PrepareSetup returns the one-time setup token (made on first call) when
// no enabled admin exists ("" otherwise): registering with it (RegisterInput.Setup) makes
// that account an admin, whatever the policy. The token lives in this
// process only and dies when it is used or when any admin comes to exist.
// The server prints it in its start-up log.
func (a *App) PrepareSetup(ctx context.Context) (string, error) {
	n, err := a.store.CountAdmins(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	a.reg.mu.Lock()
	defer a.reg.mu.Unlock()
	if a.reg.setup == "" {
		a.reg.setup, _ = newToken()
	}
	return a.reg.setup, nil
}

// dropSetup forgets the setup token (an admin exists now).
func (a *App) dropSetup() {
	a.reg.mu.Lock()
	a.reg.setup = ""
	a.reg.mu.Unlock()
}

// takeSetup consumes the setup token if tok is it and no admin exists yet.
// The caller gives it back (giveSetup) if the account is not created.
func (a *App) takeSetup(ctx context.Context, tok string) error {
	bad := &parley.Error{Code: parley.CodeForbidden, Field: "setup",
		Message: "this setup token is not valid (it works once, and only until the first admin exists)"}
	a.reg.mu.Lock()
	cur := a.reg.setup
	ok := cur != "" && len(tok) == len(cur) && subtle.ConstantTimeCompare([]byte(tok), []byte(cur)) == 1
	if ok {
		a.reg.setup = ""
	}
	a.reg.mu.Unlock()
	if !ok {
		return bad
	}
	n, err := a.store.CountAdmins(ctx)
	if err != nil {
		a.giveSetup(tok)
		return err
	}
	if n > 0 {
		return bad
	}
	return nil
}

func (a *App) giveSetup(tok string) {
	a.reg.mu.Lock()
	a.reg.setup = tok
	a.reg.mu.Unlock()
}

// checkRegister validates in the way createUser will, so that a bad form
// spends no invite use and no setup token.
func checkRegister(in RegisterInput) error {
	if _, err := parley.CanonicalUsername(in.Username); err != nil {
		return err
	}
	if err := parley.CheckPassword("password", in.Password); err != nil {
		return err
	}
	if in.DisplayName != "" {
		if _, err := parley.CleanDisplayName(in.DisplayName); err != nil {
			return err
		}
	}
	if _, err := parley.CleanEmail(in.Email); err != nil {
		return err
	}
	if len(in.Invite) > parley.InviteCodeMaxLen {
		return parley.TooLarge("invite", "invite must be at most %d characters", parley.InviteCodeMaxLen)
	}
	if len(in.Setup) > tokenLen {
		return parley.TooLarge("setup", "setup must be at most %d characters", tokenLen)
	}
	return nil
}

// admit decides, before the account is created, under which role and in
// which organisation it may be, and takes what it needs (the setup token,
// one use of the invite). undo gives those back if the account is not
// created after all.
//
// The organisation is the one named by in.Org, else the invite's, else the
// default one; its policy applies (the default organisation's is the
// server's). An invite admits only to its own organisation. The setup
// token makes an admin of the default organisation only.
func (a *App) admit(ctx context.Context, in RegisterInput) (role parley.UserRole, org parley.Organisation, undo func(), err error) {
	in.Invite = strings.TrimSpace(in.Invite)
	if in.Org != "" {
		if org, err = a.registrationOrg(ctx, in.Org); err != nil {
			return "", org, nil, err
		}
	}
	if in.Setup != "" {
		if in.Org != "" && org.ID != parley.DefaultOrgID {
			return "", org, nil, parley.Invalid("organisation", "the setup token makes an admin of the default organisation only")
		}
		if org, err = a.org(ctx, parley.DefaultOrgID); err != nil {
			return "", org, nil, err
		}
		if err := a.takeSetup(ctx, in.Setup); err != nil {
			return "", org, nil, err
		}
		return parley.UserRoleAdmin, org, func() { a.giveSetup(in.Setup) }, nil
	}
	if in.Invite == "" {
		if in.Org == "" {
			if org, err = a.org(ctx, parley.DefaultOrgID); err != nil {
				return "", org, nil, err
			}
		}
		switch a.registrationOf(org) {
		case parley.RegistrationClosed:
			return "", org, nil, errRegistrationClosed(org)
		case parley.RegistrationInvite:
			where := "this server needs"
			if org.ID != parley.DefaultOrgID {
				where = "organisation " + org.Name + " needs"
			}
			return "", org, nil, &parley.Error{Code: parley.CodeForbidden, Field: "invite",
				Message: where + " an invite to register; ask an admin for an invite link"}
		}
		return parley.UserRoleUser, org, func() {}, nil
	}
	inv, err := a.store.ClaimInvite(ctx, in.Invite, a.now())
	if parley.IsCode(err, parley.CodeNotFound) {
		return "", org, nil, &parley.Error{Code: parley.CodeForbidden, Field: "invite", Message: "this invite code is not valid"}
	}
	if err != nil {
		return "", org, nil, err
	}
	release := func() {
		if err := a.store.ReleaseInvite(context.WithoutCancel(ctx), inv.ID); err != nil {
			a.log.Warn("release invite", "invite_id", inv.ID, "err", err)
		}
	}
	if in.Org != "" && !parley.SameOrg(inv.Org, org.ID) {
		release()
		return "", org, nil, &parley.Error{Code: parley.CodeForbidden, Field: "invite", Message: "this invite code is not valid"}
	}
	if in.Org == "" {
		if org, err = a.org(ctx, inv.Org); err != nil {
			release()
			return "", org, nil, err
		}
	}
	if a.registrationOf(org) == parley.RegistrationClosed {
		release()
		return "", org, nil, errRegistrationClosed(org)
	}
	return parley.UserRoleUser, org, release, nil
}

func errRegistrationClosed(org parley.Organisation) error {
	where := "on this server"
	if org.ID != parley.DefaultOrgID {
		where = "in organisation " + org.Name
	}
	return &parley.Error{Code: parley.CodeForbidden, Field: "registration",
		Message: "registration is closed " + where + "; ask an admin to create your account"}
}

// reserveSignup takes one sign-up from the address's budget:
// CodeRateLimited with RetryAfter when it is spent.
func (a *App) reserveSignup(addr string) error {
	if a.reg.perAddr == nil {
		return nil
	}
	if ok, wait := a.reg.perAddr.Allow(addr); !ok {
		a.log.Warn("sign-up limited", "address", addr, "retry_after_s", int(wait.Seconds()+0.5))
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait,
			Message: "too many accounts created from your address; wait before trying again"}
	}
	return nil
}
