package app

import (
	"context"

	"github.com/parley-chat/parley"
)

// UserByUsername returns the enabled account with that username (any letter
// case) for a signed-in caller: what addressing by name needs (the XMPP
// gateway's JIDs). Disabled and unknown accounts alike are CodeNotFound
// (field username); a malformed name is CodeInvalid.
func (a *App) UserByUsername(ctx context.Context, actor parley.Actor, username string) (parley.User, error) {
	if !signedIn(actor) {
		return parley.User{}, unauthenticated("sign in first")
	}
	name, err := parley.CanonicalUsername(username)
	if err != nil {
		return parley.User{}, err
	}
	u, err := a.store.UserByUsername(ctx, name)
	if err == nil && (u.Disabled || !actor.Admin() && !parley.SameOrg(actor.Org, u.Org)) {
		err = parley.Errorf(parley.CodeNotFound, "user not found")
	}
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.User{}, &parley.Error{Code: parley.CodeNotFound, Field: "username", Message: "no such user"}
	}
	if err != nil {
		return parley.User{}, err
	}
	return view(actor, u), nil
}

// DirectConversation returns the direct conversation between actor and
// userID if it exists (it does not create one: CreateConversation does).
// Errors: unauthenticated; invalid (field user_id); not_found.
func (a *App) DirectConversation(ctx context.Context, actor parley.Actor, userID string) (parley.Conversation, error) {
	if actor.Anonymous() {
		return parley.Conversation{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(userID) {
		return parley.Conversation{}, parley.Invalid("user_id", "user_id must be a user id")
	}
	c, err := a.store.ConversationByDirectKey(ctx, parley.DirectKey(actor.UserID, userID))
	if err != nil {
		return parley.Conversation{}, err
	}
	// Membership is checked as for any read (a direct pair never changes,
	// but the store is the authority).
	if _, _, err := a.member(ctx, actor, c.ID); err != nil {
		return parley.Conversation{}, err
	}
	return c, nil
}
