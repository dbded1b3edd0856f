package parley

import (
	"context"
	"time"
)

// Organisation is one tenant of a deployment: an isolated set of users and
// their conversations with its own registration policy, limits and
// two-factor rule (docs/organisations.md). Every user belongs to exactly one
// organisation and never moves; a conversation belongs to its creator's
// organisation and admits only members of it.
type Organisation struct {
	ID           string             `json:"id"`
	Slug         string             `json:"slug"` // unique; chosen at registration
	Name         string             `json:"name"`
	Registration RegistrationPolicy `json:"registration"`
	Limits       OrgLimits          `json:"limits"`
	// RequireTwoFactor: every member must sign in with a second factor, as
	// the server-wide --require-2fa does for everyone.
	RequireTwoFactor bool      `json:"require_2fa"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// OrgLimits bound what an organisation's members may do. A zero field
// means the server's limit; a non-zero one may only tighten it (the app
// applies the smaller of the two).
type OrgLimits struct {
	MaxUsers        int   `json:"max_users"`                // accounts (bots included); 0: no limit
	MaxMembers      int   `json:"max_conversation_members"` // members of one conversation
	MaxMessageChars int   `json:"max_message_chars"`        // characters of a message body
	MaxUploadBytes  int64 `json:"max_upload_bytes"`         // bytes of one uploaded file
}

// DefaultOrgID is the id of the built-in default organisation: every
// account created before organisations existed, and every account
// registered without naming one, belongs to it. Its admins are the
// server's operators (Actor.Operator).
const DefaultOrgID = "00000000000000000000000000"

// DefaultOrgSlug is the default organisation's slug.
const DefaultOrgSlug = "default"

// Organisation input bounds.
const (
	OrgSlugMinLen   = 2
	OrgSlugMaxLen   = 32
	OrgNameMaxChars = 64
	// MaxOrgs bounds how many organisations one deployment lists at once.
	MaxOrgs = 1000
)

// OrgID returns the organisation id org stands for: "" (a record made
// before organisations, or an Actor built without one) is the default.
func OrgID(org string) string {
	if org == "" {
		return DefaultOrgID
	}
	return org
}

// SameOrg is the visibility rule of multi-tenancy, the one place it is
// written: a user, a conversation, a message or a file belonging to
// organisation b exists for a user of organisation a only when they are the
// same organisation. Everything a user can find, join, invite, mention,
// message or be notified about passes it (docs/organisations.md lists
// where); a refusal reads as "not found", never "forbidden", so that ids of
// other organisations reveal nothing.
func SameOrg(a, b string) bool { return OrgID(a) == OrgID(b) }

// ErrOtherOrg is the answer to an id that belongs to another organisation:
// the same CodeNotFound as an id that does not exist.
func ErrOtherOrg(what string) *Error { return Errorf(CodeNotFound, "%s not found", what) }

// CleanOrgSlug checks a slug: 2–32 characters from [a-z0-9-], starting and
// ending with a letter or digit; upper case is folded. Errors name field
// "slug" (or "organisation" when field is given so).
func CleanOrgSlug(field, s string) (string, error) {
	if s == "" {
		return "", Invalid(field, "%s is required", field)
	}
	if len(s) > OrgSlugMaxLen {
		return "", TooLarge(field, "%s must be at most %d characters", field, OrgSlugMaxLen)
	}
	if len(s) < OrgSlugMinLen {
		return "", Invalid(field, "%s must be at least %d characters", field, OrgSlugMinLen)
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '-':
			if i == 0 || i == len(b)-1 {
				return "", Invalid(field, "%s must start and end with a letter or digit", field)
			}
		default:
			return "", Invalid(field, "%s may contain only letters a-z, digits and '-'", field)
		}
	}
	return string(b), nil
}

// Validate checks an organisation's editable fields; errors name the field.
func (o Organisation) Validate() error {
	if _, err := CleanOrgSlug("slug", o.Slug); err != nil {
		return err
	}
	if o.Name == "" {
		return Invalid("name", "name is required")
	}
	if err := checkText("name", o.Name, OrgNameMaxChars, false); err != nil {
		return err
	}
	if !o.Registration.Valid() {
		return Invalid("registration", "registration must be open, invite or closed")
	}
	return o.Limits.Validate()
}

// Validate checks that no limit is negative.
func (l OrgLimits) Validate() error {
	switch {
	case l.MaxUsers < 0:
		return Invalid("limits.max_users", "max_users must not be negative")
	case l.MaxMembers < 0:
		return Invalid("limits.max_conversation_members", "max_conversation_members must not be negative")
	case l.MaxMessageChars < 0:
		return Invalid("limits.max_message_chars", "max_message_chars must not be negative")
	case l.MaxUploadBytes < 0:
		return Invalid("limits.max_upload_bytes", "max_upload_bytes must not be negative")
	}
	return nil
}

// Tighter returns the limit in force given the server's limit and an
// organisation's (0: none of its own): the smaller.
func Tighter[T int | int64](server, org T) T {
	if org > 0 && org < server {
		return org
	}
	return server
}

// AdmitOrgUser decides whether an organisation with count accounts may take
// one more: CodeForbidden naming field organisation at MaxUsers.
func (o Organisation) AdmitOrgUser(count int) error {
	if o.Limits.MaxUsers > 0 && count >= o.Limits.MaxUsers {
		return &Error{Code: CodeForbidden, Field: "organisation",
			Message: "this organisation has reached its limit of accounts; ask its admin"}
	}
	return nil
}

// OrgStore persists organisations. The default organisation exists from
// the first migration on.
type OrgStore interface {
	// CreateOrg inserts o. CodeConflict (field slug) if the slug is taken.
	CreateOrg(ctx context.Context, o Organisation) error
	// Org returns one organisation; CodeNotFound.
	Org(ctx context.Context, id string) (Organisation, error)
	// OrgBySlug returns the organisation with the canonical slug; CodeNotFound.
	OrgBySlug(ctx context.Context, slug string) (Organisation, error)
	// Orgs lists every organisation by slug, at most MaxOrgs.
	Orgs(ctx context.Context) ([]Organisation, error)
	// UpdateOrg replaces Name, Registration, Limits, RequireTwoFactor and
	// UpdatedAt of o.ID (the slug and the id never change). CodeNotFound.
	UpdateOrg(ctx context.Context, o Organisation) error
	// CountOrgUsers returns the number of accounts of an organisation,
	// disabled ones and bots included, deleted ones not.
	CountOrgUsers(ctx context.Context, org string) (int, error)
}

// AdmitOrgMembers is the membership side of SameOrg: it decides whether
// users may become members of a conversation of organisation org. A user
// of another organisation is refused exactly as an unknown id is
// (CodeNotFound naming field). Checking here, when members join, is what
// lets the send path skip any organisation check: every member of a
// conversation is of its organisation.
func AdmitOrgMembers(field, org string, users []User) error {
	for _, u := range users {
		if !SameOrg(org, u.Org) {
			return &Error{Code: CodeNotFound, Field: field, Message: field + " holds an unknown user"}
		}
	}
	return nil
}
