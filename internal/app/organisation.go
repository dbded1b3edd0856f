package app

import (
	"context"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// orgCacheTTL is how long a node trusts its copy of an organisation's
// settings: a change made on another node (limits, two-factor rule,
// registration policy) takes effect here within this time. The node that
// made the change sees it at once.
const orgCacheTTL = 10 * time.Second

// orgCache holds organisations read recently, so that the per-message
// limit and the per-request two-factor rule cost no query.
type orgCache struct {
	mu sync.RWMutex
	m  map[string]orgEntry
}

type orgEntry struct {
	o  parley.Organisation
	at time.Time
}

// org returns organisation id ("" is the default), from the cache when it
// is fresh.
func (a *App) org(ctx context.Context, id string) (parley.Organisation, error) {
	id = parley.OrgID(id)
	now := a.now()
	a.orgs.mu.RLock()
	e, ok := a.orgs.m[id]
	a.orgs.mu.RUnlock()
	if ok && now.Sub(e.at) < orgCacheTTL && now.Sub(e.at) >= 0 {
		return e.o, nil
	}
	o, err := a.store.Org(ctx, id)
	if err != nil {
		return parley.Organisation{}, err
	}
	a.remember(o)
	return o, nil
}

func (a *App) remember(o parley.Organisation) {
	a.orgs.mu.Lock()
	if a.orgs.m == nil {
		a.orgs.m = map[string]orgEntry{}
	}
	a.orgs.m[o.ID] = orgEntry{o: o, at: a.now()}
	a.orgs.mu.Unlock()
}

// orgLimits returns organisation id's own limits, or none when it cannot
// be read (the server's limits still apply; the failure is logged).
func (a *App) orgLimits(ctx context.Context, id string) parley.OrgLimits {
	o, err := a.org(ctx, id)
	if err != nil {
		a.log.Warn("organisation limits unreadable; server limits apply", "org_id", parley.OrgID(id), "err", err)
		return parley.OrgLimits{}
	}
	return o.Limits
}

// maxMessageChars is the body limit for a member of organisation org.
func (a *App) maxMessageChars(ctx context.Context, org string) int {
	return parley.Tighter(a.limits.MaxMessageChars, a.orgLimits(ctx, org).MaxMessageChars)
}

// maxMembers is the member limit of a conversation of organisation org.
func (a *App) maxMembers(ctx context.Context, org string) int {
	return parley.Tighter(a.limits.MaxMembers, a.orgLimits(ctx, org).MaxMembers)
}

// twoFactorRequired reports whether u must sign in with a second factor:
// the server requires it, or u's organisation does. An unreadable
// organisation counts as requiring it (fail closed).
func (a *App) twoFactorRequired(ctx context.Context, u parley.User) bool {
	if a.tf.required {
		return true
	}
	o, err := a.org(ctx, u.Org)
	if err != nil {
		a.log.Warn("organisation unreadable; two-factor sign-in assumed required", "org_id", parley.OrgID(u.Org), "err", err)
		return true
	}
	return o.RequireTwoFactor
}

// registrationOf is the registration policy of o: the default
// organisation's is the server's (--registration).
func (a *App) registrationOf(o parley.Organisation) parley.RegistrationPolicy {
	if o.ID == parley.DefaultOrgID {
		return a.reg.policy
	}
	return o.Registration
}

// effective returns o as it applies: the default organisation's
// registration policy is the server's.
func (a *App) effective(o parley.Organisation) parley.Organisation {
	o.Registration = a.registrationOf(o)
	return o
}

// visibleUser reads user id for actor: CodeNotFound when it does not exist
// or belongs to another organisation (parley.SameOrg).
func (a *App) visibleUser(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	u, err := a.store.User(ctx, id)
	if err != nil {
		return u, err
	}
	if !parley.SameOrg(actor.Org, u.Org) {
		return parley.User{}, parley.ErrOtherOrg("user")
	}
	return u, nil
}

// OrgInput is a new organisation, or (OrgPatch) a change to one.
type OrgInput struct {
	Slug             string
	Name             string
	Registration     parley.RegistrationPolicy // "" is invite
	Limits           parley.OrgLimits
	RequireTwoFactor bool
}

// OrgPatch changes an organisation; nil fields stay as they are.
type OrgPatch struct {
	Name             *string
	Registration     *parley.RegistrationPolicy
	Limits           *parley.OrgLimits
	RequireTwoFactor *bool
}

// CreateOrg creates an organisation. Server admins only (CodeForbidden for
// anyone else, organisation admins included). Errors: invalid/too_large
// naming the field (slug, name, registration, limits.*); conflict (slug)
// when the slug is taken, and beyond parley.MaxOrgs organisations.
func (a *App) CreateOrg(ctx context.Context, actor parley.Actor, in OrgInput) (parley.Organisation, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.Organisation{}, err
	}
	slug, err := parley.CleanOrgSlug("slug", in.Slug)
	if err != nil {
		return parley.Organisation{}, err
	}
	if in.Registration == "" {
		in.Registration = parley.RegistrationInvite
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	o := parley.Organisation{ID: parley.NewID(), Slug: slug, Name: in.Name, Registration: in.Registration,
		Limits: in.Limits, RequireTwoFactor: in.RequireTwoFactor, CreatedAt: now, UpdatedAt: now}
	if err := o.Validate(); err != nil {
		return parley.Organisation{}, err
	}
	if all, err := a.store.Orgs(ctx); err != nil {
		return parley.Organisation{}, err
	} else if len(all) >= parley.MaxOrgs {
		return parley.Organisation{}, parley.Errorf(parley.CodeConflict, "a server holds at most %d organisations", parley.MaxOrgs)
	}
	if err := a.store.CreateOrg(ctx, o); err != nil {
		return parley.Organisation{}, err
	}
	a.remember(o)
	a.audit(ctx, actor, "org.create", o.ID, o.Slug, "registration "+string(o.Registration))
	return o, nil
}

// Orgs lists the organisations actor manages: every one for a server
// admin, their own for an organisation admin. CodeForbidden for others.
func (a *App) Orgs(ctx context.Context, actor parley.Actor) ([]parley.Organisation, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return nil, err
	}
	if actor.Admin() {
		all, err := a.store.Orgs(ctx)
		for i := range all {
			all[i] = a.effective(all[i])
		}
		return all, err
	}
	o, err := a.store.Org(ctx, parley.OrgID(actor.Org))
	if err != nil {
		return nil, err
	}
	return []parley.Organisation{a.effective(o)}, nil
}

// Org returns one organisation actor manages. CodeNotFound for a
// malformed or unknown id and for one actor does not manage.
func (a *App) Org(ctx context.Context, actor parley.Actor, id string) (parley.Organisation, error) {
	if err := requireOrgAdmin(actor); err != nil {
		return parley.Organisation{}, err
	}
	if !parley.ValidID(id) || !actor.Manages(id) {
		return parley.Organisation{}, parley.ErrOtherOrg("organisation")
	}
	o, err := a.store.Org(ctx, id)
	return a.effective(o), err
}

// UpdateOrg changes an organisation actor manages (organisation admins
// their own). The default organisation's registration policy is the
// server's --registration and cannot be changed here (invalid,
// registration). Errors as CreateOrg and Org.
func (a *App) UpdateOrg(ctx context.Context, actor parley.Actor, id string, p OrgPatch) (parley.Organisation, error) {
	o, err := a.Org(ctx, actor, id)
	if err != nil {
		return o, err
	}
	if p.Name != nil {
		o.Name = *p.Name
	}
	if p.Registration != nil {
		if o.ID == parley.DefaultOrgID && *p.Registration != o.Registration {
			return parley.Organisation{}, parley.Invalid("registration",
				"the default organisation's registration policy is the server's --registration setting")
		}
		o.Registration = *p.Registration
	}
	if p.Limits != nil {
		o.Limits = *p.Limits
	}
	if p.RequireTwoFactor != nil {
		o.RequireTwoFactor = *p.RequireTwoFactor
	}
	if err := o.Validate(); err != nil {
		return parley.Organisation{}, err
	}
	o.UpdatedAt = a.now().UTC().Truncate(time.Millisecond)
	if o.ID == parley.DefaultOrgID {
		o.Registration = parley.RegistrationOpen // stored but unused: the server's --registration applies
	}
	if err := a.store.UpdateOrg(ctx, o); err != nil {
		return parley.Organisation{}, err
	}
	a.remember(o)
	o = a.effective(o)
	a.audit(ctx, actor, "org.update", o.ID, o.Slug, "registration "+string(o.Registration)+
		", require_2fa "+boolStr(o.RequireTwoFactor))
	return o, nil
}

// FindOrg resolves a slug or an id for the command line (server admins).
func (a *App) FindOrg(ctx context.Context, actor parley.Actor, ref string) (parley.Organisation, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.Organisation{}, err
	}
	if parley.ValidID(ref) {
		if o, err := a.store.Org(ctx, ref); err == nil {
			return o, nil
		}
	}
	slug, err := parley.CleanOrgSlug("organisation", ref)
	if err != nil {
		return parley.Organisation{}, err
	}
	return a.store.OrgBySlug(ctx, slug)
}

// requireOrgAdmin admits server admins and organisation admins.
func requireOrgAdmin(actor parley.Actor) error {
	if actor.Anonymous() && !actor.OrgAdmin() {
		return unauthenticated("sign in first")
	}
	if !actor.OrgAdmin() {
		return parley.Errorf(parley.CodeForbidden, "only admins may do this")
	}
	return nil
}

// registrationOrg resolves the organisation a sign-up asks for by slug
// ("" is the default organisation): CodeNotFound (field organisation) for
// an unknown slug.
func (a *App) registrationOrg(ctx context.Context, slug string) (parley.Organisation, error) {
	if slug == "" {
		return a.org(ctx, parley.DefaultOrgID)
	}
	s, err := parley.CleanOrgSlug("organisation", slug)
	if err != nil {
		return parley.Organisation{}, err
	}
	o, err := a.store.OrgBySlug(ctx, s)
	if parley.IsCode(err, parley.CodeNotFound) {
		return o, &parley.Error{Code: parley.CodeNotFound, Field: "organisation", Message: "no organisation with that name"}
	}
	return o, err
}
