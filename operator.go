package parley

import (
	"context"
	"strings"
	"time"
)

// RegistrationPolicy says who may create an account (docs/accounts.md).
type RegistrationPolicy string

const (
	RegistrationOpen   RegistrationPolicy = "open"   // anyone who can reach the server
	RegistrationInvite RegistrationPolicy = "invite" // only with an invite code from an admin
	RegistrationClosed RegistrationPolicy = "closed" // nobody (admins create accounts)
)

// Valid reports whether p is a defined policy.
func (p RegistrationPolicy) Valid() bool {
	return p == RegistrationOpen || p == RegistrationInvite || p == RegistrationClosed
}

// Invite is a code an admin hands out so that people can register when the
// policy is invite (closed refuses every sign-up, invites included). It admits
// MaxUses registrations until ExpiresAt (zero: never) unless revoked.
type Invite struct {
	ID        string     `json:"id"`
	Code      string     `json:"code"`
	Note      string     `json:"note"`
	CreatedBy string     `json:"created_by"` // user id of the admin; "" for the operator
	Org       string     `json:"org_id"`     // the organisation an account registered with it joins
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// Invite input bounds.
const (
	InviteNoteMaxChars = 200
	InviteMaxUses      = 10000
	InviteCodeMaxLen   = 64
)

// Usable returns nil if the invite admits one more registration at now,
// else CodeForbidden saying why (field "invite"). It is the one rule both
// stores and the app apply.
func (inv Invite) Usable(now time.Time) error {
	switch {
	case inv.RevokedAt != nil:
		return &Error{Code: CodeForbidden, Field: "invite", Message: "this invite was revoked"}
	case inv.ExpiresAt != nil && !now.Before(*inv.ExpiresAt):
		return &Error{Code: CodeForbidden, Field: "invite", Message: "this invite has expired"}
	case inv.Uses >= inv.MaxUses:
		return &Error{Code: CodeForbidden, Field: "invite", Message: "this invite has been used up"}
	}
	return nil
}

// CleanInviteNote checks an invite's note (who it is for): up to 200
// characters of one-line text. Errors name field "note".
func CleanInviteNote(s string) (string, error) {
	if err := checkText("note", s, InviteNoteMaxChars, false); err != nil {
		return "", err
	}
	return s, nil
}

// AuditEntry is one admin action, kept in the audit table for good.
type AuditEntry struct {
	ID       string    `json:"id"` // time-ordered (NewID): newer entries have greater ids
	At       time.Time `json:"at"`
	ActorID  string    `json:"actor_id"`  // "" for the operator (command line)
	Actor    string    `json:"actor"`     // username at the time, or "operator"
	Action   string    `json:"action"`    // e.g. user.disable, invite.create
	TargetID string    `json:"target_id"` // user or invite id; may be ""
	Target   string    `json:"target"`    // username or invite note at the time
	Detail   string    `json:"detail"`    // free text
	// ConversationID is the conversation a moderation action was taken in
	// ("" for server-wide actions).
	ConversationID string `json:"conversation_id,omitempty"`
}

// AuditQuery selects audit entries, newest first. Empty fields match all.
type AuditQuery struct {
	TargetID       string
	ActorID        string
	ConversationID string
	// Action is an action ("conversation.ban") or, ending in '.', a prefix
	// of actions ("conversation.").
	Action string
	Since  time.Time // only entries at or after Since (zero: no bound)
	Until  time.Time // only entries before Until (zero: no bound)
	Before string    // only entries with ID < Before ("" for the newest)
	Limit  int
}

// AuditFilter returns q's conditions as SQL over audit_log's columns, with
// arg(v) adding a bind value and returning its placeholder. Both stores
// build their query with it.
func AuditFilter(q AuditQuery, arg func(v any) string) string {
	var where []string
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+arg(v))
		}
	}
	eq("target_id", q.TargetID)
	eq("actor_id", q.ActorID)
	eq("conversation_id", q.ConversationID)
	if q.Action != "" {
		if strings.HasSuffix(q.Action, ".") {
			// Prefix match on a range: action >= prefix and < prefix with its last byte + 1.
			hi := q.Action[:len(q.Action)-1] + "/"
			where = append(where, "action >= "+arg(q.Action)+" AND action < "+arg(hi))
		} else {
			eq("action", q.Action)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(q.Since.UnixMilli()))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(q.Until.UnixMilli()))
	}
	if q.Before != "" {
		where = append(where, "id < "+arg(q.Before))
	}
	if len(where) == 0 {
		return "TRUE"
	}
	return strings.Join(where, " AND ")
}

// ServerCounts are the row counts shown on the admin overview.
type ServerCounts struct {
	Users         int64 `json:"users"` // not deleted
	Conversations int64 `json:"conversations"`
	Messages      int64 `json:"messages"`
}

// DeletedUsername is the username a deleted account keeps: not a valid
// username (it starts with '~'), so nobody can register or sign in with it,
// and its old name is free again.
func DeletedUsername(id string) string { return "~deleted-" + id }

// Deleted reports whether u is the tombstone of a deleted account.
func (u User) Deleted() bool { return len(u.Username) > 0 && u.Username[0] == '~' }

// DeletedDisplayName is what a deleted account's messages show as author.
const DeletedDisplayName = "deleted user"

// OperatorStore is the persistence behind registration policy and the
// admin tools. Missing rows are CodeNotFound.
type OperatorStore interface {
	// CreateInvite inserts inv. CodeConflict if its id or code is taken.
	CreateInvite(ctx context.Context, inv Invite) error
	// Invites lists the invites of organisation org ("" every
	// organisation's), newest first.
	Invites(ctx context.Context, org string) ([]Invite, error)
	// RevokeInvite sets RevokedAt (once: revoking again keeps the first time)
	// and returns the invite. CodeNotFound for an unknown id.
	RevokeInvite(ctx context.Context, id string, at time.Time) (Invite, error)
	// ClaimInvite takes one use of the invite with code, atomically: the
	// invite must pass Usable(now) (its error otherwise), CodeNotFound if no
	// invite has that code.
	ClaimInvite(ctx context.Context, code string, now time.Time) (Invite, error)
	// ReleaseInvite gives back one use taken by ClaimInvite (the account could
	// not be created after all).
	ReleaseInvite(ctx context.Context, id string) error

	// AppendAudit records e.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit returns up to q.Limit entries matching q, newest first.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)

	// ListUsers is SearchUsers for admins: disabled accounts are included,
	// deleted ones are not; org "" lists every organisation's accounts.
	ListUsers(ctx context.Context, org, prefix, after string, limit int) ([]User, error)
	// DeleteUser turns the account into a tombstone in one transaction:
	// username DeletedUsername(id), display name DeletedDisplayName, email,
	// status and password cleared, role user, disabled; its sessions are
	// deleted (their ids returned), its avatar and unsent files are marked
	// deleted for the media sweep. Its messages and memberships stay, with
	// the tombstone as author and member. CodeNotFound for an unknown or
	// already deleted id.
	DeleteUser(ctx context.Context, id string, at time.Time) ([]string, error)
	// Counts returns the overview row counts.
	Counts(ctx context.Context) (ServerCounts, error)
}
