package app

import (
	"context"
	"time"

	"github.com/parley-chat/parley"
)

// Operator is the Actor of the `parley admin` command line: an admin that is
// no user. Admin use cases check only the role.
var Operator = parley.Actor{Role: parley.UserRoleAdmin}

func requireAdmin(actor parley.Actor) error {
	if actor.Anonymous() && !actor.Admin() {
		return unauthenticated("sign in first")
	}
	if !actor.Admin() {
		return parley.Errorf(parley.CodeForbidden, "only admins may do this")
	}
	return nil
}

// CreateAdmin creates an account with role admin. It has no HTTP route: the
// operator runs it from the command line (parley admin create-admin).
// Errors as Register.
func (a *App) CreateAdmin(ctx context.Context, actor parley.Actor, in RegisterInput) (parley.User, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.User{}, err
	}
	return a.AdminCreateUser(ctx, actor, in, parley.UserRoleAdmin)
}

// FindUser resolves an operator's reference to an account: a username (in
// any letter case) or a user id. Admins only. CodeNotFound if neither matches.
func (a *App) FindUser(ctx context.Context, actor parley.Actor, ref string) (parley.User, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.User{}, err
	}
	if name, err := parley.CanonicalUsername(ref); err == nil {
		u, err := a.store.UserByUsername(ctx, name)
		if !parley.IsCode(err, parley.CodeNotFound) {
			return u, err
		}
	}
	if parley.ValidID(ref) {
		return a.store.User(ctx, ref)
	}
	return parley.User{}, parley.Errorf(parley.CodeNotFound, "no user with username or id %q", ref)
}

// DisableUser disables an account: its sessions are deleted at once, an
// EventSessionRevoked for the user is published so real-time connections
// close, and it can no longer sign in. Admins only (CodeForbidden otherwise).
// CodeConflict for the caller's own account or the last enabled admin;
// CodeNotFound for an unknown id. Disabling a disabled account is a no-op
// that still ends any sessions.
func (a *App) DisableUser(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	return a.setDisabled(ctx, actor, id, true)
}

// EnableUser re-enables a disabled account (its old sessions stay ended).
// Admins only. CodeNotFound for an unknown id.
func (a *App) EnableUser(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	return a.setDisabled(ctx, actor, id, false)
}

func (a *App) setDisabled(ctx context.Context, actor parley.Actor, id string, disabled bool) (parley.User, error) {
	u, err := a.adminTarget(ctx, actor, id)
	if err != nil {
		return parley.User{}, err
	}
	if disabled {
		if id == actor.UserID {
			return parley.User{}, parley.Errorf(parley.CodeConflict, "you cannot disable your own account")
		}
		if u.Role == parley.UserRoleAdmin && !u.Disabled && parley.SameOrg(u.Org, parley.DefaultOrgID) {
			n, err := a.store.CountAdmins(ctx)
			if err != nil {
				return parley.User{}, err
			}
			if n <= 1 {
				return parley.User{}, parley.Errorf(parley.CodeConflict, "cannot disable the last enabled admin")
			}
		}
	}
	if u.Disabled != disabled {
		u.Disabled = disabled
		u.UpdatedAt = a.now().UTC().Truncate(time.Millisecond)
		// Disabled first: Authenticate refuses disabled accounts, so their
		// sessions are dead even if deleting them below fails.
		if err := a.store.UpdateUser(ctx, u); err != nil {
			return parley.User{}, err
		}
	}
	if disabled {
		ended, err := a.store.DeleteUserSessions(ctx, id, "")
		if err != nil {
			return parley.User{}, err
		}
		a.publishRevoked(ctx, []string{id}, ended, "account_disabled")
		a.audit(ctx, actor, "user.disable", id, u.Username, "sessions ended: "+itoa(int64(len(ended))))
	} else {
		a.audit(ctx, actor, "user.enable", id, u.Username, "")
	}
	return u, nil
}
