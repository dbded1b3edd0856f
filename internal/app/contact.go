package app

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// contactFrame is {"type":"contact_request"|"contact_accepted"|"contact_removed",
// "from_id","to_id"}, sent to both users. For contact_request, from_id asked
// to_id; for contact_accepted and contact_removed, from_id is the user who
// acted.
type contactFrame struct {
	Type   parley.EventKind `json:"type"`
	FromID string           `json:"from_id"`
	ToID   string           `json:"to_id"`
}

func (a *App) publishContact(ctx context.Context, kind parley.EventKind, from, to string) {
	frame, err := json.Marshal(contactFrame{Type: kind, FromID: from, ToID: to})
	if err != nil {
		a.log.Error("encode contact frame", "err", err)
		return
	}
	a.publish(ctx, parley.Event{Kind: kind, UserIDs: []string{from, to}, Frame: frame})
}

// blocked reports whether either user blocks the other. Blocking (the safety
// issue) plugs in here; it wins over every contact and privacy rule: a
// blocked pair cannot find each other, send requests or start a direct
// conversation, and the refusal looks like an unknown user (not_found).
func (a *App) blocked(ctx context.Context, actorID, otherID string) (bool, error) {
	peers, err := a.store.BlockPeers(ctx, actorID)
	if err != nil {
		return false, err
	}
	return slices.Contains(peers, otherID), nil
}

// reachable checks that actor may act on target under target's setting aud
// (see parley.Audience): not_found if target does not exist, is disabled or
// blocked, or of another organisation than actorOrg; forbidden (with msg)
// if the audience does not admit actor.
func (a *App) reachable(ctx context.Context, actorID, actorOrg, targetID string, aud func(parley.PrivacySettings) parley.Audience, msg string) error {
	u, err := a.store.User(ctx, targetID)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && (u.Disabled || !parley.SameOrg(actorOrg, u.Org)) {
		return &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
	}
	if err != nil {
		return err
	}
	if b, err := a.blocked(ctx, actorID, targetID); err != nil {
		return err
	} else if b {
		return &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
	}
	p, err := a.store.PrivacySettings(ctx, targetID)
	if err != nil {
		return err
	}
	if aud(p) == parley.AudienceEveryone {
		return nil
	}
	d, err := a.store.ContactDistance(ctx, actorID, targetID)
	if err != nil {
		return err
	}
	if !aud(p).Admits(d) {
		return forbidden("%s", msg)
	}
	return nil
}

// mayStartDirect is the rule CreateConversation applies to a new direct
// conversation: the other user's direct_from setting must admit the actor.
func (a *App) mayStartDirect(ctx context.Context, actorID, actorOrg, otherID string) error {
	return a.reachable(ctx, actorID, actorOrg, otherID, func(p parley.PrivacySettings) parley.Audience { return p.DirectFrom },
		"this user accepts direct conversations only from their contacts")
}

func checkUserID(id string) error {
	if !parley.ValidID(id) {
		return parley.Invalid("user_id", "user_id is not a user id")
	}
	return nil
}

// RequestContact asks userID to become actor's contact. accepted is true
// when userID had asked actor already: they are contacts now. Events:
// contact_request (or contact_accepted) to both. Errors: unauthenticated;
// invalid (user_id: malformed, or actor themselves); not_found (no such
// enabled user, or blocked); forbidden (their find_me setting does not
// admit actor); conflict (contacts already, or asked already);
// rate_limited (more than 20 requests at once, then one per 10 s).
func (a *App) RequestContact(ctx context.Context, actor parley.Actor, userID string) (accepted bool, err error) {
	if actor.Anonymous() {
		return false, unauthenticated("sign in first")
	}
	if err := checkUserID(userID); err != nil {
		return false, err
	}
	if userID == actor.UserID {
		return false, parley.Invalid("user_id", "you cannot add yourself as a contact")
	}
	if err := a.refuseBlocked(ctx, actor.UserID, []string{userID}, "user_id"); err != nil {
		return false, err
	}
	incoming, err := a.store.ContactRequests(ctx, actor.UserID, true)
	if err != nil {
		return false, err
	}
	asked := false
	for _, r := range incoming {
		asked = asked || r.FromID == userID
	}
	if !asked { // answering a request is always allowed
		if err := a.reachable(ctx, actor.UserID, actor.Org, userID, func(p parley.PrivacySettings) parley.Audience { return p.FindMe },
			"this user does not accept contact requests from you"); err != nil {
			return false, err
		}
		if ok, wait := a.social.requests.Allow(actor.UserID); !ok {
			return false, &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait, Message: "you are sending contact requests too fast"}
		}
	}
	accepted, err = a.store.RequestContact(ctx, actor.UserID, userID, a.now().UTC())
	if err != nil {
		return false, err
	}
	kind := parley.EventContactRequest
	if accepted {
		kind = parley.EventContactAccepted
	}
	a.publishContact(ctx, kind, actor.UserID, userID)
	return accepted, nil
}

// AnswerContactRequest accepts or declines the request fromID sent actor.
// Events: contact_accepted or contact_removed to both. Errors:
// unauthenticated, invalid (user_id), not_found (no such request).
func (a *App) AnswerContactRequest(ctx context.Context, actor parley.Actor, fromID string, accept bool) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if err := checkUserID(fromID); err != nil {
		return err
	}
	if err := a.store.AnswerContactRequest(ctx, fromID, actor.UserID, accept, a.now().UTC()); err != nil {
		return err
	}
	kind := parley.EventContactRemoved
	if accept {
		kind = parley.EventContactAccepted
	}
	a.publishContact(ctx, kind, actor.UserID, fromID)
	return nil
}

// CancelContactRequest withdraws actor's request to toID. Event:
// contact_removed to both. Errors: unauthenticated, invalid, not_found.
func (a *App) CancelContactRequest(ctx context.Context, actor parley.Actor, toID string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if err := checkUserID(toID); err != nil {
		return err
	}
	if err := a.store.CancelContactRequest(ctx, actor.UserID, toID); err != nil {
		return err
	}
	a.publishContact(ctx, parley.EventContactRemoved, actor.UserID, toID)
	return nil
}

// RemoveContact ends the contact between actor and userID. Event:
// contact_removed to both. Errors: unauthenticated, invalid, not_found.
func (a *App) RemoveContact(ctx context.Context, actor parley.Actor, userID string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if err := checkUserID(userID); err != nil {
		return err
	}
	if err := a.store.RemoveContact(ctx, actor.UserID, userID); err != nil {
		return err
	}
	a.publishContact(ctx, parley.EventContactRemoved, actor.UserID, userID)
	return nil
}

// ContactRequests returns actor's pending incoming and outgoing requests,
// oldest first.
func (a *App) ContactRequests(ctx context.Context, actor parley.Actor) (incoming, outgoing []parley.ContactRequest, err error) {
	if actor.Anonymous() {
		return nil, nil, unauthenticated("sign in first")
	}
	if incoming, err = a.store.ContactRequests(ctx, actor.UserID, true); err != nil {
		return nil, nil, err
	}
	outgoing, err = a.store.ContactRequests(ctx, actor.UserID, false)
	return incoming, outgoing, err
}

// Contacts returns a page of actor's contacts ordered by user id; cursor is
// "" or the next cursor of the previous page ("" on the last page).
// Presence: clients watch the returned user ids (watch_presence).
func (a *App) Contacts(ctx context.Context, actor parley.Actor, cursor string, limit int) ([]parley.Contact, string, error) {
	if actor.Anonymous() {
		return nil, "", unauthenticated("sign in first")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	after := ""
	if cursor != "" {
		parts, err := decodeCursor(cursor, 1)
		if err != nil {
			return nil, "", err
		}
		after = parts[0]
	}
	cs, err := a.store.Contacts(ctx, actor.UserID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(cs) > limit {
		cs = cs[:limit]
		next = encodeCursor(cs[limit-1].UserID)
	}
	return cs, next, nil
}

// ContactSuggestions returns up to limit (0: 20) users who share small
// conversations with actor and are neither contacts nor in a pending
// request, most shared first.
func (a *App) ContactSuggestions(ctx context.Context, actor parley.Actor, limit int) ([]parley.ContactSuggestion, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return nil, parley.Invalid("limit", "limit must be between 1 and %d", MaxSearchLimit)
	}
	return a.store.ContactSuggestions(ctx, actor.UserID, limit)
}

// PrivacySettings returns actor's privacy settings.
func (a *App) PrivacySettings(ctx context.Context, actor parley.Actor) (parley.PrivacySettings, error) {
	if actor.Anonymous() {
		return parley.PrivacySettings{}, unauthenticated("sign in first")
	}
	return a.store.PrivacySettings(ctx, actor.UserID)
}

// SetPrivacySettings replaces actor's privacy settings (zero fields take
// the defaults). Errors: unauthenticated, invalid (find_me, direct_from).
func (a *App) SetPrivacySettings(ctx context.Context, actor parley.Actor, p parley.PrivacySettings) (parley.PrivacySettings, error) {
	if actor.Anonymous() {
		return parley.PrivacySettings{}, unauthenticated("sign in first")
	}
	p = p.Normalize()
	if err := p.Validate(); err != nil {
		return parley.PrivacySettings{}, err
	}
	return p, a.store.SetPrivacySettings(ctx, actor.UserID, p)
}

// FindPeople finds enabled users by username (prefix first) or display
// name (substring, case-insensitive), then, when that leaves room and q has
// at least four characters, by name with typos (parley.MatchPerson: fewest
// edits first), leaving out actor, users blocked either way and everyone
// whose find_me setting does not admit actor. The typo pass reads at most
// MaxTypoScan names. Errors: unauthenticated; invalid (q: empty or control
// characters; limit); too_large (q over 64 characters); rate_limited.
func (a *App) FindPeople(ctx context.Context, actor parley.Actor, q string, limit int) ([]parley.User, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	q = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(q), "@"))
	if q == "" {
		return nil, parley.Invalid("q", "q must not be empty")
	}
	if err := checkText("q", q, parley.DisplayNameMaxChars); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return nil, parley.Invalid("limit", "limit must be between 1 and %d", MaxSearchLimit)
	}
	if err := a.allowSearch(actor); err != nil {
		return nil, err
	}
	users, privs, err := a.store.FindPeople(ctx, actor.Org, q, 3*limit+1)
	if err != nil {
		return nil, err
	}
	peers, err := a.store.BlockPeers(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	out := []parley.User{}
	seen := map[string]bool{}
	for _, p := range peers {
		seen[p] = true // blocked either way: never found, not even by a typo
	}
	for i, u := range users {
		if len(out) == limit {
			return out, nil
		}
		if seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		if ok, err := a.findable(ctx, actor, u, privs[i]); err != nil {
			return nil, err
		} else if ok {
			out = append(out, view(actor, u))
		}
	}
	if len(out) == limit || parley.MaxTypos(utf8.RuneCountInString(q)) == 0 {
		return out, nil
	}
	typos, err := a.typoMatches(ctx, actor.Org, q, seen, 3*(limit-len(out)))
	if err != nil {
		return nil, err
	}
	for _, id := range typos {
		if len(out) == limit {
			break
		}
		u, err := a.store.User(ctx, id)
		if parley.IsCode(err, parley.CodeNotFound) {
			continue // deleted since the scan
		}
		if err != nil {
			return nil, err
		}
		p, err := a.store.PrivacySettings(ctx, id)
		if err != nil {
			return nil, err
		}
		if u.Disabled {
			continue
		}
		if ok, err := a.findable(ctx, actor, u, p); err != nil {
			return nil, err
		} else if ok {
			out = append(out, view(actor, u))
		}
	}
	return out, nil
}

// MaxTypoScan bounds the names one typo-tolerant people search reads: on a
// larger server, names past it are found by their exact spelling only.
const MaxTypoScan = 200_000

// typoMatches scans the names of organisation org's enabled users (at most MaxTypoScan) and returns
// up to n ids not in skip that parley.MatchPerson accepts for q, fewest
// edits first, then by username.
func (a *App) typoMatches(ctx context.Context, org, q string, skip map[string]bool, n int) ([]string, error) {
	type hit struct {
		id, username string
		edits        int
	}
	var hits []hit
	const page = 2000
	m := parley.NewPersonMatcher(q)
	for after, read := "", 0; read < MaxTypoScan; {
		names, err := a.store.PeopleNames(ctx, org, after, page)
		if err != nil {
			return nil, err
		}
		for _, p := range names {
			if skip[p.ID] {
				continue
			}
			if e, ok := m.Match(p); ok {
				hits = append(hits, hit{p.ID, p.Username, e})
			}
		}
		read += len(names)
		if len(names) < page {
			break
		}
		after = names[len(names)-1].ID
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].edits != hits[j].edits {
			return hits[i].edits < hits[j].edits
		}
		return hits[i].username < hits[j].username
	})
	ids := make([]string, 0, min(n, len(hits)))
	for _, h := range hits[:min(n, len(hits))] {
		ids = append(ids, h.id)
	}
	return ids, nil
}

// findable reports whether people search shows u (with privacy p) to
// actor: not actor themself and admitted by u's find_me audience (the
// caller leaves out users blocked either way).
func (a *App) findable(ctx context.Context, actor parley.Actor, u parley.User, p parley.PrivacySettings) (bool, error) {
	if u.ID == actor.UserID {
		return false, nil
	}
	if p.FindMe != parley.AudienceEveryone {
		d, err := a.store.ContactDistance(ctx, actor.UserID, u.ID)
		if err != nil {
			return false, err
		}
		if !p.FindMe.Admits(d) {
			return false, nil
		}
	}
	return true, nil
}
