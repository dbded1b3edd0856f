package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// ServerRulesTTL is how long a node uses the server-wide rules it read
// before reading them again (a change on another node takes this long).
const ServerRulesTTL = 5 * time.Second

// maxCachedFilters bounds the compiled deny lists kept in memory.
const maxCachedFilters = 1024

// filters caches compiled deny lists by their source, and the server-wide
// rules for ServerRulesTTL.
type filters struct {
	mu       sync.Mutex
	compiled map[string]*parley.ContentFilter
	server   *parley.ContentFilter
	serverAt time.Time
}

// filter returns r's compiled deny lists (nil when it has none).
func (a *App) filter(r parley.ConversationRules) (*parley.ContentFilter, error) {
	if len(r.DenyWords) == 0 && len(r.DenyPatterns) == 0 {
		return nil, nil
	}
	key := string(r.DenyAction) + "\x00" + strings.Join(r.DenyWords, "\x00") + "\x01" + strings.Join(r.DenyPatterns, "\x00")
	f := &a.filters
	f.mu.Lock()
	c, ok := f.compiled[key]
	f.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := r.Compile()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.compiled == nil || len(f.compiled) >= maxCachedFilters {
		f.compiled = map[string]*parley.ContentFilter{}
	}
	f.compiled[key] = c
	f.mu.Unlock()
	return c, nil
}

// serverFilter returns the server-wide deny lists, read at most every
// ServerRulesTTL.
func (a *App) serverFilter(ctx context.Context) (*parley.ContentFilter, error) {
	f := &a.filters
	now := a.now()
	f.mu.Lock()
	if !f.serverAt.IsZero() && now.Sub(f.serverAt) < ServerRulesTTL {
		c := f.server
		f.mu.Unlock()
		return c, nil
	}
	f.mu.Unlock()
	r, err := a.store.ConversationRules(ctx, "")
	if err != nil {
		return nil, err
	}
	c, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.server, f.serverAt = c, now
	f.mu.Unlock()
	return c, nil
}

// admitPost applies the posting rules (parley.AdmitPost) to a message
// actor is about to send and returns the body to store, and whether the
// send must start the member's slow-mode clock. A non-member or unknown
// conversation passes: the append refuses it with the right error. env is
// the e2ee envelope: required in an encrypted conversation, refused
// elsewhere (e2ee.go).
func (a *App) admitPost(ctx context.Context, actor parley.Actor, convID, body string, attachments int, env json.RawMessage) (string, bool, error) {
	st, err := a.postingState(ctx, convID, actor.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return body, false, nil
	}
	if err != nil {
		return "", false, err
	}
	if st.Role == "" {
		return body, false, nil
	}
	// Only a member learns that a conversation is encrypted.
	if err := checkEncryptedInput(st.Encrypted, body, env); err != nil {
		return "", false, err
	}
	if st.Encrypted {
		if err := a.checkEnvelope(ctx, actor, st.Kind, env); err != nil {
			return "", false, err
		}
	}
	server, err := a.serverFilter(ctx)
	if err != nil {
		return "", false, err
	}
	conv, err := a.filter(st.Rules)
	if err != nil {
		return "", false, err
	}
	body, err = parley.AdmitPost(st, st.Role, parley.Post{Body: body, Attachments: attachments}, a.now(), server, conv)
	return body, err == nil && st.Rules.SlowModeSeconds > 0 && !st.Role.Manager(), err
}

// admitEdit applies the posting rules to an edit, except slow mode.
func (a *App) admitEdit(ctx context.Context, actor parley.Actor, convID, body string) (string, error) {
	st, err := a.postingState(ctx, convID, actor.UserID)
	if err != nil {
		return "", err
	}
	st.Rules.SlowModeSeconds = 0
	server, err := a.serverFilter(ctx)
	if err != nil {
		return "", err
	}
	conv, err := a.filter(st.Rules)
	if err != nil {
		return "", err
	}
	body, err = parley.AdmitPost(st, st.Role, parley.Post{Body: body}, a.now(), server, conv)
	if errors.Is(err, parley.ErrHeld) {
		return "", &parley.Error{Code: parley.CodeForbidden, Field: "body",
			Message: "this edit has text that needs a moderator's review, so it was not applied"}
	}
	return body, err
}

func checkReason(reason string) error {
	return checkText("reason", reason, parley.MaxModReasonChars)
}

// moderated is what a moderation use case acts on.
type moderated struct {
	conv   parley.Conversation
	target *parley.Member // nil when the user is not a member
	user   parley.User
}

// moderate authorizes actor to moderate userID in convID: actor is an
// owner or admin of a group or channel, userID another user whose role
// parley.CanModerate lets actor act on. needMember: userID must be a member
// (not_found, field user_id, otherwise).
func (a *App) moderate(ctx context.Context, actor parley.Actor, convID, userID, reason string, needMember bool) (moderated, error) {
	return a.moderateAs(ctx, actor, convID, userID, reason, needMember, false)
}

// moderateAs is moderate; serverAdmin lets a server admin who is no
// manager of the conversation act as its owner would (resolving reports).
func (a *App) moderateAs(ctx context.Context, actor parley.Actor, convID, userID, reason string, needMember, serverAdmin bool) (moderated, error) {
	var md moderated
	c, me, err := a.member(ctx, actor, convID)
	if serverAdmin && actor.Admin() && (err != nil || !me.Role.Manager()) && checkConversationID(convID) == nil {
		if c, err = a.store.Conversation(ctx, convID); err == nil {
			me = parley.Member{Role: parley.RoleOwner}
		}
	}
	if err != nil {
		return md, err
	}
	md.conv = c
	if c.Kind == parley.KindDirect {
		return md, forbidden("direct conversations have no moderators")
	}
	if !me.Role.Manager() {
		return md, forbidden("only owners and admins moderate a conversation")
	}
	if err := checkUserID(userID); err != nil {
		return md, err
	}
	if userID == actor.UserID {
		return md, parley.Invalid("user_id", "you cannot moderate yourself")
	}
	if err := checkReason(reason); err != nil {
		return md, err
	}
	t, err := a.store.Member(ctx, convID, userID)
	switch {
	case parley.IsCode(err, parley.CodeNotFound):
		if needMember {
			return md, &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "that user is not a member"}
		}
	case err != nil:
		return md, err
	default:
		md.target = &t
		if !parley.CanModerate(me.Role, t.Role) {
			return md, forbidden("owners moderate admins and members; admins moderate members")
		}
	}
	if md.user, err = a.store.User(ctx, userID); err != nil || md.user.Deleted() || !parley.SameOrg(c.Org, md.user.Org) {
		return md, &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
	}
	return md, nil
}

// systemMessage appends a moderation system message and publishes it.
// Every moderation change that alters who may post what (rules, mutes)
// records one, so this is also where posting states are forgotten, here
// at once and on other nodes through the bus.
func (a *App) systemMessage(ctx context.Context, actor parley.Actor, convID string, info parley.SystemInfo) error {
	a.postingChanged(ctx, convID)
	info.ActorID = actor.UserID
	m := parley.Message{ID: parley.NewID(), ConversationID: convID, SenderID: actor.UserID, Kind: parley.MessageSystem,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond), System: &info}
	_, _, err := a.store.AppendMessage(ctx, m, parley.CheckNone, func(m parley.Message) {
		a.publishMessage(parley.EventMessage, m)
	})
	return err
}

func (a *App) auditModeration(ctx context.Context, actor parley.Actor, action string, md moderated, detail, reason string) {
	d := "conversation " + md.conv.ID
	if detail != "" {
		d += "; " + detail
	}
	if reason != "" {
		d += "; reason: " + reason
	}
	a.auditIn(ctx, actor, md.conv.ID, action, md.user.ID, md.user.Username, d)
}

// MuteMember stops a member posting in a group or channel for d (at most
// parley.MaxMuteDuration), recorded as a member_muted system message and in
// the audit log. Muting again replaces the end. Errors: unauthenticated;
// invalid (user_id, duration, reason); too_large (reason); not_found;
// forbidden (not a manager, a direct conversation, a target of equal or
// higher role).
func (a *App) MuteMember(ctx context.Context, actor parley.Actor, convID, userID string, d time.Duration, reason string) (time.Time, error) {
	md, err := a.moderate(ctx, actor, convID, userID, reason, true)
	if err != nil {
		return time.Time{}, err
	}
	return a.mute(ctx, actor, md, d, reason)
}

func (a *App) mute(ctx context.Context, actor parley.Actor, md moderated, d time.Duration, reason string) (time.Time, error) {
	convID, userID := md.conv.ID, md.user.ID
	if d < time.Second || d > parley.MaxMuteDuration {
		return time.Time{}, parley.Invalid("duration_seconds", "duration_seconds must be between 1 and %d",
			int64(parley.MaxMuteDuration/time.Second))
	}
	until := a.now().UTC().Add(d).Truncate(time.Millisecond)
	if err := a.store.SetMutedUntil(ctx, convID, userID, until); err != nil {
		return time.Time{}, err
	}
	a.auditModeration(ctx, actor, "conversation.mute", md, "until "+until.Format(time.RFC3339), reason)
	return until, a.systemMessage(ctx, actor, convID, parley.SystemInfo{Action: parley.SystemMemberMuted,
		UserIDs: []string{userID}, Reason: reason, Until: &until})
}

// UnmuteMember ends a member's mute. Errors as MuteMember.
func (a *App) UnmuteMember(ctx context.Context, actor parley.Actor, convID, userID, reason string) error {
	md, err := a.moderate(ctx, actor, convID, userID, reason, true)
	if err != nil {
		return err
	}
	if err := a.store.SetMutedUntil(ctx, convID, userID, time.Time{}); err != nil {
		return err
	}
	a.auditModeration(ctx, actor, "conversation.unmute", md, "", reason)
	return a.systemMessage(ctx, actor, convID, parley.SystemInfo{Action: parley.SystemMemberUnmuted,
		UserIDs: []string{userID}, Reason: reason})
}

// KickMember removes a member (who may rejoin or be added again),
// recorded as a member_kicked system message and in the audit log. Errors
// as MuteMember.
func (a *App) KickMember(ctx context.Context, actor parley.Actor, convID, userID, reason string) error {
	md, err := a.moderate(ctx, actor, convID, userID, reason, true)
	if err != nil {
		return err
	}
	if err := a.removeMember(ctx, actor, convID, userID, parley.SystemMemberKicked, reason); err != nil {
		return err
	}
	a.auditModeration(ctx, actor, "conversation.kick", md, "", reason)
	return nil
}

// BanMember bans a user (member or not) from a group or channel: a member
// is removed (member_banned system message), and nobody can add them again,
// nor can they join, until UnbanMember. Errors as MuteMember.
func (a *App) BanMember(ctx context.Context, actor parley.Actor, convID, userID, reason string) (parley.Ban, error) {
	md, err := a.moderate(ctx, actor, convID, userID, reason, false)
	if err != nil {
		return parley.Ban{}, err
	}
	return a.ban(ctx, actor, md, reason)
}

func (a *App) ban(ctx context.Context, actor parley.Actor, md moderated, reason string) (parley.Ban, error) {
	convID, userID := md.conv.ID, md.user.ID
	var err error
	b := parley.Ban{ConversationID: convID, UserID: userID, ActorID: actor.UserID, Reason: reason,
		CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	// Ban first: from here on nobody re-adds them, even concurrently.
	if err := a.store.BanUser(ctx, b); err != nil {
		return parley.Ban{}, err
	}
	if md.target != nil {
		err = a.removeMember(ctx, actor, convID, userID, parley.SystemMemberBanned, reason)
		if parley.IsCode(err, parley.CodeNotFound) { // left meanwhile
			err = a.systemMessage(ctx, actor, convID, parley.SystemInfo{Action: parley.SystemMemberBanned,
				UserIDs: []string{userID}, Reason: reason})
		}
	} else {
		err = a.systemMessage(ctx, actor, convID, parley.SystemInfo{Action: parley.SystemMemberBanned,
			UserIDs: []string{userID}, Reason: reason})
	}
	if err != nil {
		return parley.Ban{}, err
	}
	a.auditModeration(ctx, actor, "conversation.ban", md, "", reason)
	return b, nil
}

// UnbanMember lifts a ban (not_found, field user_id, without one).
func (a *App) UnbanMember(ctx context.Context, actor parley.Actor, convID, userID, reason string) error {
	md, err := a.moderate(ctx, actor, convID, userID, reason, false)
	if err != nil {
		return err
	}
	if err := a.store.UnbanUser(ctx, convID, userID); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "this user is not banned"}
		}
		return err
	}
	a.auditModeration(ctx, actor, "conversation.unban", md, "", reason)
	return a.systemMessage(ctx, actor, convID, parley.SystemInfo{Action: parley.SystemMemberUnbanned,
		UserIDs: []string{userID}, Reason: reason})
}

// Bans lists a conversation's bans to its owners and admins.
func (a *App) Bans(ctx context.Context, actor parley.Actor, convID string) ([]parley.Ban, error) {
	c, me, err := a.member(ctx, actor, convID)
	if err != nil {
		return nil, err
	}
	if c.Kind == parley.KindDirect || !me.Role.Manager() {
		return nil, forbidden("only owners and admins see the bans")
	}
	return a.store.Bans(ctx, convID)
}

// ConversationRules returns a conversation's rules to its members.
func (a *App) ConversationRules(ctx context.Context, actor parley.Actor, convID string) (parley.ConversationRules, error) {
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return parley.ConversationRules{}, err
	}
	return a.store.ConversationRules(ctx, convID)
}

// SetConversationRules replaces a group's or channel's rules (owners and
// admins), recorded as a rules_changed system message and in the audit log.
// Errors: unauthenticated; invalid/too_large naming the field; not_found;
// forbidden.
func (a *App) SetConversationRules(ctx context.Context, actor parley.Actor, convID string, r parley.ConversationRules) (parley.ConversationRules, error) {
	c, me, err := a.member(ctx, actor, convID)
	if err != nil {
		return parley.ConversationRules{}, err
	}
	if c.Kind == parley.KindDirect || !me.Role.Manager() {
		return parley.ConversationRules{}, forbidden("only owners and admins of a group or channel set its rules")
	}
	r = r.Normalize()
	if err := r.Validate(a.limits.MaxMessageChars); err != nil {
		return parley.ConversationRules{}, err
	}
	if err := a.store.SetConversationRules(ctx, convID, r); err != nil {
		return parley.ConversationRules{}, err
	}
	a.auditIn(ctx, actor, convID, "conversation.rules", "", "", "conversation "+convID+"; "+rulesSummary(r))
	return r, a.systemMessage(ctx, actor, convID, parley.SystemInfo{Action: parley.SystemRulesChanged})
}

func rulesSummary(r parley.ConversationRules) string {
	return "slow_mode " + itoa(int64(r.SlowModeSeconds)) + "s, read_only " + boolStr(r.ReadOnly) +
		", max_chars " + itoa(int64(r.MaxMessageChars)) + ", no_links " + boolStr(r.NoLinks) +
		", no_attachments " + boolStr(r.NoAttachments) + ", deny " + itoa(int64(len(r.DenyWords))) + " words " +
		itoa(int64(len(r.DenyPatterns))) + " patterns (" + string(r.DenyAction) + ")"
}

func boolStr(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ServerRules returns the server-wide deny lists. Admins only.
func (a *App) ServerRules(ctx context.Context, actor parley.Actor) (parley.ConversationRules, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.ConversationRules{}, err
	}
	return a.store.ConversationRules(ctx, "")
}

// SetServerRules replaces the server-wide deny lists (words, patterns,
// action; the other fields must be zero: CodeInvalid). Admins only. This
// node applies them at once, others within ServerRulesTTL.
func (a *App) SetServerRules(ctx context.Context, actor parley.Actor, r parley.ConversationRules) (parley.ConversationRules, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.ConversationRules{}, err
	}
	r = r.Normalize()
	if r.SlowModeSeconds != 0 || r.ReadOnly || r.MaxMessageChars != 0 || r.NoLinks || r.NoAttachments {
		return parley.ConversationRules{}, parley.Invalid("rules", "server-wide rules hold only deny_words, deny_patterns and deny_action")
	}
	if err := r.Validate(a.limits.MaxMessageChars); err != nil {
		return parley.ConversationRules{}, err
	}
	if err := a.store.SetConversationRules(ctx, "", r); err != nil {
		return parley.ConversationRules{}, err
	}
	a.filters.mu.Lock()
	a.filters.serverAt = time.Time{}
	a.filters.mu.Unlock()
	a.audit(ctx, actor, "server.rules", "", "", rulesSummary(r))
	return r, nil
}
