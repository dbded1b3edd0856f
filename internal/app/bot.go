package app

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Bots (docs/bots.md) are accounts owned by a person. They have no password
// (noPassword matches no password, so a password sign-in answers like a wrong
// password) and act only through API tokens "pb_<43 characters>" whose
// scopes say which endpoints they may use. In conversations a bot is a
// member like anyone: someone must add it, and the usual rules apply.

const noPassword = "!bot"

// BotInput describes a new bot.
type BotInput struct {
	Username    string
	DisplayName string
}

// person returns the caller's account when it is a person signed in with a
// session: bots and API tokens cannot manage bots.
func (a *App) person(ctx context.Context, actor parley.Actor) (parley.User, error) {
	if actor.Anonymous() {
		return parley.User{}, unauthenticated("sign in first")
	}
	if actor.Scopes != nil {
		return parley.User{}, parley.Errorf(parley.CodeForbidden, "API tokens cannot manage bots")
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return parley.User{}, err
	}
	if u.Bot() {
		return parley.User{}, parley.Errorf(parley.CodeForbidden, "bots cannot own bots")
	}
	return u, nil
}

// ownBot resolves id to one of the caller's bots; CodeNotFound for anything
// else (someone else's bot, a person, a deleted bot, a malformed id).
func (a *App) ownBot(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	if _, err := a.person(ctx, actor); err != nil {
		return parley.User{}, err
	}
	if !parley.ValidID(id) {
		return parley.User{}, parley.Errorf(parley.CodeNotFound, "bot not found")
	}
	b, err := a.store.User(ctx, id)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && (b.BotOwner != actor.UserID || b.Deleted()) {
		return parley.User{}, parley.Errorf(parley.CodeNotFound, "bot not found")
	}
	return b, err
}

// CreateBot makes a bot owned by the caller. Username rules are those of
// people (field username; CodeConflict if taken); display_name optional.
// CodeConflict beyond parley.BotsPerOwner bots.
func (a *App) CreateBot(ctx context.Context, actor parley.Actor, in BotInput) (parley.User, error) {
	owner, err := a.person(ctx, actor)
	if err != nil {
		return parley.User{}, err
	}
	name, err := parley.CanonicalUsername(in.Username)
	if err != nil {
		return parley.User{}, err
	}
	display := name
	if in.DisplayName != "" {
		if display, err = parley.CleanDisplayName(in.DisplayName); err != nil {
			return parley.User{}, err
		}
	}
	bots, err := a.store.Bots(ctx, owner.ID)
	if err != nil {
		return parley.User{}, err
	}
	if len(bots) >= parley.BotsPerOwner {
		return parley.User{}, parley.Errorf(parley.CodeConflict, "you have %d bots, the most one person may own; delete one first", len(bots))
	}
	org, err := a.org(ctx, owner.Org)
	if err != nil {
		return parley.User{}, err
	}
	n, err := a.store.CountOrgUsers(ctx, org.ID)
	if err != nil {
		return parley.User{}, err
	}
	if err := org.AdmitOrgUser(n); err != nil { // bots are accounts of their owner's organisation
		return parley.User{}, err
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	b := parley.User{ID: parley.NewID(), Username: name, DisplayName: display, Role: parley.UserRoleUser,
		Settings: parley.DefaultUserSettings(), CreatedAt: now, UpdatedAt: now, BotOwner: owner.ID, Org: owner.Org}
	if err := a.store.CreateUser(ctx, b, noPassword); err != nil {
		if parley.IsCode(err, parley.CodeConflict) {
			return parley.User{}, usernameTaken()
		}
		return parley.User{}, err
	}
	a.log.Info("bot created", "user_id", b.ID, "username", b.Username, "owner_id", owner.ID)
	return b, nil
}

// Bots lists the caller's bots, oldest first.
func (a *App) Bots(ctx context.Context, actor parley.Actor) ([]parley.User, error) {
	owner, err := a.person(ctx, actor)
	if err != nil {
		return nil, err
	}
	return a.store.Bots(ctx, owner.ID)
}

// DeleteBot deletes one of the caller's bots like an account (its messages
// stay, shown as "deleted user"; its tokens stop working at once).
func (a *App) DeleteBot(ctx context.Context, actor parley.Actor, id string) error {
	b, err := a.ownBot(ctx, actor, id)
	if err != nil {
		return err
	}
	if _, err := a.store.DeleteUser(ctx, b.ID, a.now().UTC().Truncate(time.Millisecond)); err != nil {
		return err
	}
	a.log.Info("bot deleted", "user_id", b.ID, "owner_id", actor.UserID)
	return nil
}

// DisableBot disables one of the caller's bots: its tokens, incoming
// webhooks and slash command stop at once, and outgoing webhooks get no
// new events (as when an admin disables the account). Recorded in the audit
// log as bot.disable. Disabling a disabled bot is a no-op.
func (a *App) DisableBot(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	b, err := a.ownBot(ctx, actor, id)
	if err != nil || b.Disabled {
		return b, err
	}
	b.Disabled, b.UpdatedAt = true, a.now().UTC().Truncate(time.Millisecond)
	if err := a.store.UpdateUser(ctx, b); err != nil {
		return parley.User{}, err
	}
	a.audit(ctx, actor, "bot.disable", b.ID, b.Username, "by its owner")
	return b, nil
}

// EnableBot re-enables one of the caller's bots that the caller disabled.
// A bot a server admin disabled stays disabled until an admin enables it:
// CodeForbidden when the newest disable in the audit log is not the
// owner's bot.disable. Enabling an enabled bot is a no-op.
func (a *App) EnableBot(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	b, err := a.ownBot(ctx, actor, id)
	if err != nil || !b.Disabled {
		return b, err
	}
	entries, err := a.store.Audit(ctx, parley.AuditQuery{TargetID: b.ID, Limit: 100})
	if err != nil {
		return parley.User{}, err
	}
	byOwner := false
	for _, e := range entries { // newest first
		if e.Action == "user.disable" || e.Action == "bot.disable" {
			byOwner = e.Action == "bot.disable"
			break
		}
	}
	if !byOwner {
		return parley.User{}, parley.Errorf(parley.CodeForbidden, "a server admin disabled this bot; only an admin can enable it")
	}
	b.Disabled, b.UpdatedAt = false, a.now().UTC().Truncate(time.Millisecond)
	if err := a.store.UpdateUser(ctx, b); err != nil {
		return parley.User{}, err
	}
	a.audit(ctx, actor, "bot.enable", b.ID, b.Username, "by its owner")
	return b, nil
}

// deleteBotsOf deletes every bot of ownerID (their owner's account is
// being deleted).
func (a *App) deleteBotsOf(ctx context.Context, ownerID string) {
	bots, err := a.store.Bots(ctx, ownerID)
	if err != nil {
		a.log.Warn("list bots of a deleted account", "user_id", ownerID, "err", err)
		return
	}
	for _, b := range bots {
		if _, err := a.store.DeleteUser(ctx, b.ID, a.now().UTC().Truncate(time.Millisecond)); err != nil {
			a.log.Warn("delete bot of a deleted account", "user_id", b.ID, "err", err)
		}
	}
}

// CreateAPIToken makes a token for one of the caller's bots with the given
// scopes (field scopes) and name (field name, 1–64 characters). It returns
// the record and the token, shown this once. CodeConflict beyond
// parley.APITokensPerBot.
func (a *App) CreateAPIToken(ctx context.Context, actor parley.Actor, botID, name string, scopes []parley.Scope) (parley.APIToken, string, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return parley.APIToken{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return parley.APIToken{}, "", parley.Invalid("name", "name the token (e.g. where it is used)")
	}
	if _, err := parley.CleanDisplayName(name); err != nil {
		pe := parley.AsError(err)
		return parley.APIToken{}, "", &parley.Error{Code: pe.Code, Field: "name", Message: strings.ReplaceAll(pe.Message, "display name", "name")}
	}
	if err := parley.CheckScopes(scopes); err != nil {
		return parley.APIToken{}, "", err
	}
	raw, _ := newToken()
	tok := parley.APITokenPrefix + raw
	t := parley.APIToken{ID: parley.NewID(), UserID: b.ID, Name: name, Scopes: append([]parley.Scope(nil), scopes...),
		Hash: hashToken(tok), CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	if err := a.store.CreateAPIToken(ctx, t); err != nil {
		return parley.APIToken{}, "", err
	}
	a.log.Info("api token created", "user_id", b.ID, "token_id", t.ID, "scopes", joinScopes(t.Scopes))
	return t, tok, nil
}

func joinScopes(ss []parley.Scope) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " ")
}

// APITokens lists the tokens of one of the caller's bots.
func (a *App) APITokens(ctx context.Context, actor parley.Actor, botID string) ([]parley.APIToken, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return nil, err
	}
	return a.store.APITokens(ctx, b.ID)
}

// RevokeAPIToken deletes a token of one of the caller's bots: it stops
// working at once. CodeNotFound if it is not one.
func (a *App) RevokeAPIToken(ctx context.Context, actor parley.Actor, botID, id string) error {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return err
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "token not found")
	}
	return a.store.DeleteAPIToken(ctx, b.ID, id)
}

// authenticateToken resolves an API token ("pb_…") to its bot's Actor.
func (a *App) authenticateToken(ctx context.Context, token string) (parley.Actor, parley.User, error) {
	if !tokenForm(strings.TrimPrefix(token, parley.APITokenPrefix)) {
		return parley.Actor{}, parley.User{}, unauthenticated("the token is malformed")
	}
	t, u, err := a.store.APITokenUserByHash(ctx, hashToken(token))
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.Actor{}, parley.User{}, unauthenticated("the token is invalid or was revoked")
	} else if err != nil {
		return parley.Actor{}, parley.User{}, err
	}
	if u.Disabled || u.Deleted() {
		return parley.Actor{}, parley.User{}, unauthenticated("the bot is disabled")
	}
	now := a.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := a.store.TouchAPIToken(ctx, t.ID, now.UTC().Truncate(time.Millisecond)); err != nil && !parley.IsCode(err, parley.CodeNotFound) {
			a.log.Warn("touch api token", "token_id", t.ID, "err", err)
		}
	}
	scopes := t.Scopes
	if scopes == nil {
		scopes = []parley.Scope{}
	}
	return parley.Actor{UserID: u.ID, Role: parley.UserRoleUser, Scopes: scopes, Org: u.Org}, u, nil
}

// IncomingWebhookInput is what a POST to an incoming webhook carries.
type IncomingWebhookInput struct {
	Text        string
	ClientMsgID string // optional: resending the same one posts once
}

// CreateIncomingWebhook makes a secret URL that posts into conversationID
// as one of the caller's bots, which must be a member able to post there
// (checked now and at every post). It returns the record and the secret,
// shown this once; the URL is /api/v1/hooks/{id}/{secret}.
func (a *App) CreateIncomingWebhook(ctx context.Context, actor parley.Actor, botID, conversationID string) (parley.IncomingWebhook, string, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return parley.IncomingWebhook{}, "", err
	}
	if conversationID == "" {
		return parley.IncomingWebhook{}, "", parley.Invalid("conversation_id", "conversation_id is required")
	}
	// The bot must see the conversation as a member.
	if _, m, err := a.access(ctx, parley.Actor{UserID: b.ID, Role: parley.UserRoleUser, Org: b.Org}, conversationID); err != nil {
		return parley.IncomingWebhook{}, "", err
	} else if m == nil {
		return parley.IncomingWebhook{}, "", parley.Errorf(parley.CodeForbidden, "add the bot to the conversation first")
	}
	secret, _ := newToken()
	w := parley.IncomingWebhook{ID: parley.NewID(), BotID: b.ID, ConversationID: conversationID, Hash: hashToken(secret),
		CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	if err := a.store.CreateIncomingWebhook(ctx, w); err != nil {
		return parley.IncomingWebhook{}, "", err
	}
	a.log.Info("incoming webhook created", "user_id", b.ID, "webhook_id", w.ID, "conversation_id", conversationID)
	return w, secret, nil
}

// IncomingWebhooks lists the incoming webhooks of one of the caller's bots.
func (a *App) IncomingWebhooks(ctx context.Context, actor parley.Actor, botID string) ([]parley.IncomingWebhook, error) {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return nil, err
	}
	return a.store.IncomingWebhooks(ctx, b.ID)
}

// DeleteIncomingWebhook deletes one: its URL stops working at once.
func (a *App) DeleteIncomingWebhook(ctx context.Context, actor parley.Actor, botID, id string) error {
	b, err := a.ownBot(ctx, actor, botID)
	if err != nil {
		return err
	}
	if !parley.ValidID(id) {
		return parley.Errorf(parley.CodeNotFound, "webhook not found")
	}
	return a.store.DeleteIncomingWebhook(ctx, b.ID, id)
}

// PostIncomingWebhook posts in.Text into the webhook's conversation as its
// bot (a message like any other: limits, rate limit, membership apply).
// An unknown id and a wrong secret both answer CodeNotFound.
func (a *App) PostIncomingWebhook(ctx context.Context, id, secret string, in IncomingWebhookInput) (parley.Message, bool, error) {
	notFound := parley.Errorf(parley.CodeNotFound, "no such webhook")
	if !parley.ValidID(id) || !tokenForm(secret) {
		return parley.Message{}, false, notFound
	}
	w, err := a.store.UseIncomingWebhook(ctx, id, a.now().UTC().Truncate(time.Millisecond))
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.Message{}, false, notFound
	} else if err != nil {
		return parley.Message{}, false, err
	}
	if subtle.ConstantTimeCompare(w.Hash, hashToken(secret)) != 1 {
		return parley.Message{}, false, notFound
	}
	if in.Text == "" {
		return parley.Message{}, false, parley.Invalid("text", "text is required")
	}
	bot, err := a.store.User(ctx, w.BotID)
	if err != nil {
		return parley.Message{}, false, err
	}
	if bot.Disabled || bot.Deleted() {
		return parley.Message{}, false, parley.Errorf(parley.CodeForbidden, "the webhook's bot is disabled")
	}
	cm := in.ClientMsgID
	if cm == "" {
		cm = parley.NewID()
	}
	m, created, err := a.SendMessage(ctx, parley.Actor{UserID: bot.ID, Role: parley.UserRoleUser, Org: bot.Org},
		SendMessageInput{ConversationID: w.ConversationID, ClientMsgID: cm, Body: in.Text})
	if err != nil {
		if pe := parley.AsError(err); pe != nil && pe.Field == "body" {
			pe.Field = "text"
		}
		return parley.Message{}, false, err
	}
	return m, created, nil
}
