package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"time"

	"github.com/parley-chat/parley"
)

// Overview is the admin overview of one node and its store.
type Overview struct {
	Version       string                    `json:"version"`
	StartedAt     time.Time                 `json:"started_at"`
	UptimeSeconds int64                     `json:"uptime_seconds"`
	Store         string                    `json:"store"`
	Bus           string                    `json:"bus"`
	Registration  parley.RegistrationPolicy `json:"registration"`
	Counts        parley.ServerCounts       `json:"counts"`
	Sockets       int                       `json:"sockets"`        // WebSocket connections on this node
	DataDirBytes  int64                     `json:"data_dir_bytes"` // -1 when there is no data directory (PostgreSQL and S3)
	Admins        int                       `json:"admins"`
}

// Admin list and audit bounds.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
	InviteMaxTTL      = 366 * 24 * time.Hour
)

// audit records an admin action in the audit table and the log. A failure
// to record is logged: the action itself is already done.
func (a *App) audit(ctx context.Context, actor parley.Actor, action, targetID, target, detail string) {
	a.auditIn(ctx, actor, "", action, targetID, target, detail)
}

// auditIn is audit for an action taken in a conversation.
func (a *App) auditIn(ctx context.Context, actor parley.Actor, convID, action, targetID, target, detail string) {
	e := parley.AuditEntry{ID: parley.NewSequentialID(), At: a.now().UTC().Truncate(time.Millisecond),
		ActorID: actor.UserID, Actor: "operator", Action: action, TargetID: targetID, Target: target, Detail: detail,
		ConversationID: convID}
	if actor.UserID != "" {
		if u, err := a.store.User(ctx, actor.UserID); err == nil {
			e.Actor = u.Username
		} else {
			e.Actor = actor.UserID
		}
	}
	a.log.Info("admin action", "action", action, "actor", e.Actor, "actor_id", e.ActorID,
		"target", target, "target_id", targetID, "detail", detail)
	if err := a.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		a.log.Error("audit record lost", "action", action, "err", err)
	}
}

// adminTarget resolves a user id for an admin use case: CodeNotFound for a
// malformed, unknown or deleted id, and for a user of an organisation the
// actor does not manage (organisation admins manage their own).
func (a *App) adminTarget(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return parley.User{}, err
	}
	if !parley.ValidID(id) {
		return parley.User{}, parley.Errorf(parley.CodeNotFound, "user not found")
	}
	u, err := a.store.User(ctx, id)
	if err != nil {
		return parley.User{}, err
	}
	if !actor.Manages(u.Org) {
		return parley.User{}, parley.ErrOtherOrg("user")
	}
	if u.Deleted() {
		return parley.User{}, parley.Errorf(parley.CodeNotFound, "user not found (deleted)")
	}
	return u, nil
}

// ListUsers lists accounts for admins (organisation admins: their
// organisation's), disabled ones included (deleted ones
// not), by username prefix, a page at a time: the next page starts after the
// returned cursor ("" on the last page). Errors as SearchUsers.
func (a *App) ListUsers(ctx context.Context, actor parley.Actor, in SearchUsersInput) ([]parley.User, string, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return nil, "", err
	}
	org := "" // server admins list every organisation's accounts
	if !actor.Admin() {
		org = parley.OrgID(actor.Org)
	}
	return usernamePage(ctx, in, func(ctx context.Context, prefix, after string, n int) ([]parley.User, error) {
		return a.store.ListUsers(ctx, org, prefix, after, n)
	})
}

// AdminUser returns one account with everything an admin may see.
// CodeNotFound for a malformed, unknown or deleted id.
func (a *App) AdminUser(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	return a.adminTarget(ctx, actor, id)
}

// AdminCreateUser creates an account with the given role (admins only, any
// registration policy) in the organisation named by in.Org (a slug; ""
// the actor's own). Organisation admins create accounts in their own
// organisation only (CodeNotFound, field organisation, for another). Errors as Register's validation errors.
func (a *App) AdminCreateUser(ctx context.Context, actor parley.Actor, in RegisterInput, role parley.UserRole) (parley.User, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return parley.User{}, err
	}
	if !role.Valid() {
		return parley.User{}, parley.Invalid("role", "role must be user or admin")
	}
	org, err := a.org(ctx, actor.Org)
	if in.Org != "" {
		org, err = a.registrationOrg(ctx, in.Org)
	}
	if err != nil {
		return parley.User{}, err
	}
	if !actor.Manages(org.ID) {
		return parley.User{}, &parley.Error{Code: parley.CodeNotFound, Field: "organisation", Message: "no organisation with that name"}
	}
	u, err := a.createUser(ctx, in, role, org)
	if err != nil {
		return parley.User{}, err
	}
	if role == parley.UserRoleAdmin && org.ID == parley.DefaultOrgID {
		a.dropSetup()
	}
	a.audit(ctx, actor, "user.create", u.ID, u.Username, "role "+string(role)+", organisation "+org.Slug)
	return u, nil
}

// ResetPassword sets a user's password (a generated one, returned, when
// password is "") and ends every session of theirs, so they must sign in
// again with it. Admins only. CodeNotFound; CodeInvalid/CodeTooLarge (field
// password).
func (a *App) ResetPassword(ctx context.Context, actor parley.Actor, id, password string) (string, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return "", err
	}
	generated := password == ""
	if generated {
		var b [12]byte
		_, _ = rand.Read(b[:])
		password = base64.RawURLEncoding.EncodeToString(b[:])
	}
	if err := parley.CheckPassword("password", password); err != nil {
		return "", err
	}
	u, err := a.adminTarget(ctx, actor, id)
	if err != nil {
		return "", err
	}
	if u.Bot() {
		return "", parley.Errorf(parley.CodeConflict, "bots have no password; they sign in with API tokens")
	}
	h, err := a.acct.pw.hash(ctx, password)
	if err != nil {
		return "", err
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, h); err != nil {
		return "", err
	}
	ended, err := a.store.DeleteUserSessions(ctx, u.ID, "")
	if err != nil {
		return "", err
	}
	a.publishRevoked(ctx, []string{u.ID}, ended, "password_reset")
	a.dropAppPasswords(ctx, u.ID)
	a.acct.loginUser.Reset(u.Username)
	detail := "password set by admin"
	if generated {
		detail = "password generated"
	}
	a.audit(ctx, actor, "user.reset_password", u.ID, u.Username, detail)
	if !generated {
		return "", nil
	}
	return password, nil
}

// SetRole promotes a user to admin or demotes an admin to user. Admins only.
// CodeConflict when demoting the last enabled admin; CodeInvalid for a role
// other than user or admin; CodeNotFound. Setting the role a user already
// has changes nothing and records nothing.
func (a *App) SetRole(ctx context.Context, actor parley.Actor, id string, role parley.UserRole) (parley.User, error) {
	if !role.Valid() {
		return parley.User{}, parley.Invalid("role", "role must be user or admin")
	}
	u, err := a.adminTarget(ctx, actor, id)
	if err != nil {
		return parley.User{}, err
	}
	if u.Role == role {
		return u, nil
	}
	if role == parley.UserRoleUser && !u.Disabled && parley.SameOrg(u.Org, parley.DefaultOrgID) {
		n, err := a.store.CountAdmins(ctx)
		if err != nil {
			return parley.User{}, err
		}
		if n <= 1 {
			return parley.User{}, parley.Errorf(parley.CodeConflict, "cannot demote the last enabled admin")
		}
	}
	u.Role = role
	u.UpdatedAt = a.now().UTC().Truncate(time.Millisecond)
	if err := a.store.UpdateUser(ctx, u); err != nil {
		return parley.User{}, err
	}
	action := "user.demote"
	if role == parley.UserRoleAdmin {
		action = "user.promote"
		if parley.SameOrg(u.Org, parley.DefaultOrgID) {
			a.dropSetup()
		}
	}
	a.audit(ctx, actor, action, u.ID, u.Username, "")
	return u, nil
}

// DeleteUser deletes an account (parley.OperatorStore.DeleteUser: the
// account becomes a tombstone shown as "deleted user"; its messages stay;
// its sessions, avatar and unsent files go; its username is free again).
// Its sockets close at once. Admins only. CodeConflict for the caller's own
// account and the last enabled admin; CodeNotFound.
func (a *App) DeleteUser(ctx context.Context, actor parley.Actor, id string) error {
	u, err := a.adminTarget(ctx, actor, id)
	if err != nil {
		return err
	}
	if id == actor.UserID {
		return parley.Errorf(parley.CodeConflict, "you cannot delete your own account")
	}
	if u.Role == parley.UserRoleAdmin && !u.Disabled && parley.SameOrg(u.Org, parley.DefaultOrgID) {
		n, err := a.store.CountAdmins(ctx)
		if err != nil {
			return err
		}
		if n <= 1 {
			return parley.Errorf(parley.CodeConflict, "cannot delete the last enabled admin")
		}
	}
	ended, err := a.store.DeleteUser(ctx, u.ID, a.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return err
	}
	a.publishRevoked(ctx, []string{u.ID}, ended, "account_deleted")
	a.deleteBotsOf(ctx, u.ID)
	a.audit(ctx, actor, "user.delete", u.ID, u.Username, "")
	return nil
}

// UserSessions lists a user's unexpired sessions for an admin, newest first.
func (a *App) UserSessions(ctx context.Context, actor parley.Actor, id string) ([]parley.Session, error) {
	u, err := a.adminTarget(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	all, err := a.store.Sessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := make([]parley.Session, 0, len(all))
	for _, ss := range all {
		if now.Before(ss.ExpiresAt) {
			out = append(out, ss)
		}
	}
	return out, nil
}

// Overview returns the server overview. Admins only.
func (a *App) Overview(ctx context.Context, actor parley.Actor) (Overview, error) {
	if err := requireAdmin(actor); err != nil {
		return Overview{}, err
	}
	c, err := a.store.Counts(ctx)
	if err != nil {
		return Overview{}, err
	}
	n, err := a.store.CountAdmins(ctx)
	if err != nil {
		return Overview{}, err
	}
	o := Overview{Registration: a.reg.policy, Counts: c, Admins: n, DataDirBytes: -1}
	if a.rt != nil {
		a.rt(&o)
	}
	return o, nil
}

// InviteInput is a new invite. MaxUses 0 means 1; ExpiresIn 0 means never.
type InviteInput struct {
	MaxUses   int
	ExpiresIn time.Duration
	Note      string
	// Org is the id of the organisation the invite admits to ("": the
	// actor's own). Organisation admins invite to their own only.
	Org string
}

// CreateInvite makes an invite code. Admins only. CodeInvalid (fields
// max_uses: 1–10000, expires_in: 0–366 days, note) or CodeTooLarge (note).
func (a *App) CreateInvite(ctx context.Context, actor parley.Actor, in InviteInput) (parley.Invite, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return parley.Invite{}, err
	}
	if in.Org == "" {
		in.Org = parley.OrgID(actor.Org)
	}
	if !parley.ValidID(in.Org) || !actor.Manages(in.Org) {
		return parley.Invite{}, &parley.Error{Code: parley.CodeNotFound, Field: "org_id", Message: "organisation not found"}
	}
	if _, err := a.org(ctx, in.Org); parley.IsCode(err, parley.CodeNotFound) {
		return parley.Invite{}, &parley.Error{Code: parley.CodeNotFound, Field: "org_id", Message: "organisation not found"}
	} else if err != nil {
		return parley.Invite{}, err
	}
	if in.MaxUses == 0 {
		in.MaxUses = 1
	}
	if in.MaxUses < 1 || in.MaxUses > parley.InviteMaxUses {
		return parley.Invite{}, parley.Invalid("max_uses", "max_uses must be between 1 and %d", parley.InviteMaxUses)
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > InviteMaxTTL {
		return parley.Invite{}, parley.Invalid("expires_in", "expires_in must be between 0 (never) and %s", InviteMaxTTL)
	}
	note, err := parley.CleanInviteNote(in.Note)
	if err != nil {
		return parley.Invite{}, err
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	var b [15]byte
	_, _ = rand.Read(b[:])
	inv := parley.Invite{ID: parley.NewID(), Code: base64.RawURLEncoding.EncodeToString(b[:]), Note: note,
		CreatedBy: actor.UserID, MaxUses: in.MaxUses, CreatedAt: now, Org: in.Org}
	if in.ExpiresIn > 0 {
		t := now.Add(in.ExpiresIn)
		inv.ExpiresAt = &t
	}
	if err := a.store.CreateInvite(ctx, inv); err != nil {
		return parley.Invite{}, err
	}
	detail := "max uses " + itoa(int64(in.MaxUses))
	if inv.ExpiresAt != nil {
		detail += ", expires " + inv.ExpiresAt.Format(time.RFC3339)
	}
	a.audit(ctx, actor, "invite.create", inv.ID, note, detail)
	return inv, nil
}

// Invites lists every invite, newest first. Admins only; organisation
// admins see their organisation's.
func (a *App) Invites(ctx context.Context, actor parley.Actor) ([]parley.Invite, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return nil, err
	}
	if actor.Admin() {
		return a.store.Invites(ctx, "")
	}
	return a.store.Invites(ctx, parley.OrgID(actor.Org))
}

// RevokeInvite stops an invite from admitting anyone else. Admins only.
// CodeNotFound for an unknown id. Revoking twice keeps the first time.
func (a *App) RevokeInvite(ctx context.Context, actor parley.Actor, id string) (parley.Invite, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return parley.Invite{}, err
	}
	if !parley.ValidID(id) {
		return parley.Invite{}, parley.Errorf(parley.CodeNotFound, "invite not found")
	}
	if !actor.Admin() {
		own, err := a.store.Invites(ctx, parley.OrgID(actor.Org))
		if err != nil {
			return parley.Invite{}, err
		}
		if !slices.ContainsFunc(own, func(inv parley.Invite) bool { return inv.ID == id }) {
			return parley.Invite{}, parley.Errorf(parley.CodeNotFound, "invite not found")
		}
	}
	inv, err := a.store.RevokeInvite(ctx, id, a.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return parley.Invite{}, err
	}
	a.audit(ctx, actor, "invite.revoke", inv.ID, inv.Note, "")
	return inv, nil
}

// Audit returns audit entries, newest first. Admins only. CodeInvalid for
// a limit outside 1–500 or a malformed cursor or target.
func (a *App) Audit(ctx context.Context, actor parley.Actor, q parley.AuditQuery) ([]parley.AuditEntry, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = DefaultAuditLimit
	}
	if q.Limit < 1 || q.Limit > MaxAuditLimit {
		return nil, parley.Invalid("limit", "limit must be between 1 and %d", MaxAuditLimit)
	}
	if q.Before != "" && !parley.ValidID(q.Before) {
		return nil, parley.Invalid("before", "before must be an audit entry id")
	}
	if q.TargetID != "" && !parley.ValidID(q.TargetID) {
		return nil, parley.Invalid("target_id", "target_id must be an id")
	}
	if q.ActorID != "" && !parley.ValidID(q.ActorID) {
		return nil, parley.Invalid("actor_id", "actor_id must be a user id")
	}
	if q.ConversationID != "" && !parley.ValidID(q.ConversationID) {
		return nil, parley.Invalid("conversation_id", "conversation_id must be a conversation id")
	}
	if len(q.Action) > 64 {
		return nil, parley.TooLarge("action", "action is at most 64 bytes")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, parley.Invalid("until", "until must be after since")
	}
	return a.store.Audit(ctx, q)
}
