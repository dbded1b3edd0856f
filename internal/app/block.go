package app

import (
	"context"
	"slices"
	"time"

	"github.com/parley-chat/parley"
)

// EventBlocks tells a user's own devices that their block list changed:
// {"type":"blocks_changed","user_id","blocked"}.
const EventBlocks parley.EventKind = "blocks_changed"

type blocksFrame struct {
	Type    parley.EventKind `json:"type"`
	UserID  string           `json:"user_id"`
	Blocked bool             `json:"blocked"`
}

// BlockUser blocks userID for actor (see parley.Block for what that
// stops). Blocking again is a no-op. Both users stop seeing each other's
// presence at once; the actor's devices get blocks_changed.
// Errors: unauthenticated; invalid (user_id malformed or oneself);
// not_found (user_id); too_large (parley.MaxBlocks).
func (a *App) BlockUser(ctx context.Context, actor parley.Actor, userID string) (parley.Block, error) {
	if actor.Anonymous() {
		return parley.Block{}, unauthenticated("sign in first")
	}
	if err := checkUserID(userID); err != nil {
		return parley.Block{}, err
	}
	bs, err := a.store.Blocks(ctx, actor.UserID)
	if err != nil {
		return parley.Block{}, err
	}
	for _, b := range bs {
		if b.UserID == userID {
			return b, nil
		}
	}
	if err := parley.AdmitBlock(actor.UserID, userID, len(bs)); err != nil {
		return parley.Block{}, err
	}
	if u, err := a.store.User(ctx, userID); err != nil || u.Deleted() || !parley.SameOrg(actor.Org, u.Org) {
		return parley.Block{}, &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
	}
	b := parley.Block{UserID: userID, CreatedAt: a.now().UTC().Truncate(time.Millisecond)}
	if err := a.store.BlockUser(ctx, actor.UserID, userID, b.CreatedAt); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Block{}, &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "user not found"}
		}
		return parley.Block{}, err
	}
	a.hidePresence(ctx, actor.UserID, userID)
	a.hidePresence(ctx, userID, actor.UserID)
	a.publishBlocks(ctx, actor.UserID, userID, true)
	return b, nil
}

// UnblockUser lifts actor's block of userID. Presence is not restored to
// open connections until they watch the user again.
// Errors: unauthenticated; invalid (user_id); not_found (no such block).
func (a *App) UnblockUser(ctx context.Context, actor parley.Actor, userID string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if err := checkUserID(userID); err != nil {
		return err
	}
	if err := a.store.UnblockUser(ctx, actor.UserID, userID); err != nil {
		if parley.IsCode(err, parley.CodeNotFound) {
			return &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "you do not block this user"}
		}
		return err
	}
	a.publishBlocks(ctx, actor.UserID, userID, false)
	return nil
}

// Blocks lists the users actor blocks, oldest first.
func (a *App) Blocks(ctx context.Context, actor parley.Actor) ([]parley.Block, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return a.store.Blocks(ctx, actor.UserID)
}

// refuseBlocked refuses (parley.ErrBlocked naming field) when actorID and
// any of ids block each other either way.
func (a *App) refuseBlocked(ctx context.Context, actorID string, ids []string, field string) error {
	peers, err := a.store.BlockPeers(ctx, actorID)
	if err != nil {
		return err
	}
	for _, p := range peers {
		if slices.Contains(ids, p) {
			return parley.ErrBlocked(field)
		}
	}
	return nil
}

// hidePresence stops watcher's open connections following user's presence
// and shows user offline to them.
func (a *App) hidePresence(ctx context.Context, user, watcher string) {
	ctx = context.WithoutCancel(ctx)
	a.publish(ctx, parley.Event{Kind: parley.EventPresence, UserIDs: []string{watcher},
		Frame: frame(presenceFrame{Type: parley.EventPresence, PresenceStatus: parley.PresenceStatus{UserID: user}})})
	a.publish(ctx, parley.Event{Kind: parley.EventPresence, ConversationID: parley.PresenceTopic(user), Leave: []string{watcher}})
}

func (a *App) publishBlocks(ctx context.Context, actorID, userID string, blocked bool) {
	a.publish(context.WithoutCancel(ctx), parley.Event{Kind: EventBlocks, UserIDs: []string{actorID},
		Frame: frame(blocksFrame{Type: EventBlocks, UserID: userID, Blocked: blocked})})
}

// withoutBlocked returns e routed so that no user who blocks actorID, or
// whom actorID blocks, receives it (drop=true: nobody is left). Typing and
// receipts use it. Only when actor has block peers among the members is the
// event re-routed from the conversation to the members' user ids.
func (a *App) withoutBlocked(ctx context.Context, actorID string, e parley.Event) (parley.Event, bool) {
	peers, err := a.store.BlockPeers(ctx, actorID)
	if err != nil || len(peers) == 0 || e.ConversationID == "" {
		return e, false
	}
	members, err := a.store.MemberIDs(ctx, e.ConversationID)
	if err != nil {
		return e, false
	}
	skip := make(map[string]bool, len(peers))
	for _, p := range peers {
		skip[p] = true
	}
	to := make([]string, 0, len(members))
	for _, id := range members {
		if !skip[id] {
			to = append(to, id)
		}
	}
	if len(to) == len(members) {
		return e, false
	}
	e.ConversationID, e.UserIDs = "", to
	return e, len(to) == 0
}
