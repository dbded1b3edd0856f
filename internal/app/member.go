package app

import (
	"context"

	"github.com/parley-chat/parley"
)

// MemberUpdate changes one membership: Role (owners and admins, on others or
// themselves) and the per-member settings Muted, Pinned, Archived (only on
// one's own membership). Nil fields stay.
type MemberUpdate struct {
	Role     *parley.MemberRole
	Muted    *bool
	Pinned   *bool
	Archived *bool
}

// Members lists a conversation's members (members only), ordered by user
// id, paginated: cursor is "" or the previous page's next.
func (a *App) Members(ctx context.Context, actor parley.Actor, convID, cursor string, limit int) ([]parley.Member, string, error) {
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return nil, "", err
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
	ms, err := a.store.Members(ctx, convID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > limit {
		ms = ms[:limit]
		next = encodeCursor(ms[len(ms)-1].UserID)
	}
	return ms, next, nil
}

// AddMembers adds users to a group or channel (owners and admins), or lets
// actor join a public channel (userIDs = [actor]). Users already members are
// skipped. The change is recorded as a system message and published as
// member_joined per added user followed by the message. It returns the
// members added. Errors: unauthenticated, invalid (user_ids), not_found
// (the conversation, or field user_ids for an unknown user), forbidden,
// too_large (member limit).
func (a *App) AddMembers(ctx context.Context, actor parley.Actor, convID string, userIDs []string) ([]parley.Member, error) {
	c, me, err := a.access(ctx, actor, convID)
	if err != nil {
		return nil, err
	}
	if len(userIDs) == 0 {
		return nil, parley.Invalid("user_ids", "user_ids must name at least one user")
	}
	maxMembers := a.maxMembers(ctx, c.Org)
	if len(userIDs) > maxMembers {
		return nil, parley.TooLarge("user_ids", "a conversation has at most %d members", maxMembers)
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range userIDs {
		if !parley.ValidID(id) {
			return nil, parley.Invalid("user_ids", "user_ids must hold user ids")
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	selfJoin := len(ids) == 1 && ids[0] == actor.UserID
	switch {
	case c.Kind == parley.KindDirect:
		return nil, forbidden("direct conversations have exactly two members")
	case me == nil && !(selfJoin && c.Public):
		return nil, forbidden("join the channel first")
	case me != nil && !me.Role.Manager() && !selfJoin:
		return nil, forbidden("only owners and admins add members")
	}
	if !selfJoin {
		if err := a.refuseBlocked(ctx, actor.UserID, ids, "user_ids"); err != nil {
			return nil, err
		}
	}
	banned, err := a.store.Banned(ctx, convID, ids)
	if err != nil {
		return nil, err
	}
	if len(banned) > 0 {
		if selfJoin {
			return nil, parley.ErrBanned("conversation_id")
		}
		return nil, parley.ErrBanned("user_ids")
	}
	users, err := a.store.Users(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(users) != len(ids) {
		return nil, &parley.Error{Code: parley.CodeNotFound, Field: "user_ids", Message: "user_ids holds an unknown user"}
	}
	if err := parley.AdmitOrgMembers("user_ids", c.Org, users); err != nil {
		return nil, err
	}
	now := a.now().UTC()
	var members []parley.Member
	for _, id := range ids {
		members = append(members, parley.Member{UserID: id, Role: parley.RoleMember, JoinedAt: now})
	}
	sys := parley.Message{ID: parley.NewID(), SenderID: actor.UserID, Kind: parley.MessageSystem, CreatedAt: now,
		System: &parley.SystemInfo{Action: parley.SystemMembersAdded, ActorID: actor.UserID}}
	res, err := a.store.AddMembers(ctx, convID, members, maxMembers, sys, func(r parley.MembershipResult) {
		for _, m := range r.Members {
			a.publishJoined(r.Conversation, m)
		}
		for i, m := range r.System {
			if i == 1 && r.NewOwner != nil { // joined an ownerless conversation
				a.publishMemberUpdated(r.Conversation, *r.NewOwner, false)
			}
			a.publishMessage(parley.EventMessage, m)
		}
	})
	if err != nil {
		return nil, err
	}
	if res.Members == nil {
		res.Members = []parley.Member{}
	}
	return res.Members, nil
}

// RemoveMember removes userID from a group or channel: anyone may remove
// themselves (leave); owners remove anyone; admins remove plain members.
// If the last owner goes, ownership passes on (see docs/model.md). The
// change is recorded as a system message and published as the message,
// then member_left (then member_updated and its message for a new owner).
// Errors: unauthenticated, invalid, not_found (conversation, or a user who
// is not a member), forbidden.
func (a *App) RemoveMember(ctx context.Context, actor parley.Actor, convID, userID string) error {
	c, me, err := a.member(ctx, actor, convID)
	if err != nil {
		return err
	}
	if !parley.ValidID(userID) {
		return parley.Invalid("user_id", "user_id must be a user id")
	}
	if c.Kind == parley.KindDirect {
		return forbidden("direct conversations cannot be left; mute or archive them instead")
	}
	action := parley.SystemMemberLeft
	if userID != actor.UserID {
		action = parley.SystemMemberRemoved
		target, err := a.store.Member(ctx, convID, userID)
		if parley.IsCode(err, parley.CodeNotFound) {
			return &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "that user is not a member"}
		}
		if err != nil {
			return err
		}
		switch {
		case me.Role == parley.RoleOwner:
		case me.Role == parley.RoleAdmin && target.Role == parley.RoleMember:
		default:
			return forbidden("only owners remove admins and owners; only owners and admins remove members")
		}
	}
	return a.removeMember(ctx, actor, convID, userID, action, "")
}

// removeMember removes userID, recording action (with reason) as the
// system message, and publishes the change.
func (a *App) removeMember(ctx context.Context, actor parley.Actor, convID, userID string, action parley.SystemAction, reason string) error {
	now := a.now().UTC()
	sys := parley.Message{ID: parley.NewID(), SenderID: actor.UserID, Kind: parley.MessageSystem, CreatedAt: now,
		System: &parley.SystemInfo{Action: action, ActorID: actor.UserID, UserIDs: []string{userID}, Reason: reason}}
	_, err := a.store.RemoveMember(ctx, convID, userID, sys, func(r parley.MembershipResult) {
		if len(r.System) > 0 {
			a.publishMessage(parley.EventMessage, r.System[0])
		}
		for _, m := range r.Members {
			a.publishLeft(r.Conversation, m)
		}
		if r.NewOwner != nil {
			a.publishMemberUpdated(r.Conversation, *r.NewOwner, false)
			for _, m := range r.System[1:] {
				a.publishMessage(parley.EventMessage, m)
			}
		}
	})
	if parley.IsCode(err, parley.CodeNotFound) {
		return &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "that user is not a member"}
	}
	return err
}

// UpdateMember changes a membership (see MemberUpdate for who may change
// what). A role change is recorded as a system message and published to the
// conversation as member_updated; a settings change only to the member's
// own devices. Errors: unauthenticated, invalid (role), not_found,
// forbidden, conflict (demoting the last owner).
func (a *App) UpdateMember(ctx context.Context, actor parley.Actor, convID, userID string, in MemberUpdate) (parley.Member, error) {
	c, me, err := a.member(ctx, actor, convID)
	if err != nil {
		return parley.Member{}, err
	}
	if !parley.ValidID(userID) {
		return parley.Member{}, parley.Invalid("user_id", "user_id must be a user id")
	}
	self := userID == actor.UserID
	if !self && (in.Muted != nil || in.Pinned != nil || in.Archived != nil) {
		return parley.Member{}, forbidden("muted, pinned and archived are each member's own settings")
	}
	target := me
	if !self {
		target, err = a.store.Member(ctx, convID, userID)
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Member{}, &parley.Error{Code: parley.CodeNotFound, Field: "user_id", Message: "that user is not a member"}
		}
		if err != nil {
			return parley.Member{}, err
		}
	}
	var sys *parley.Message
	if in.Role != nil && *in.Role != target.Role {
		r := *in.Role
		if !r.Valid() {
			return parley.Member{}, parley.Invalid("role", "role must be owner, admin or member")
		}
		if c.Kind == parley.KindDirect {
			return parley.Member{}, forbidden("direct conversations have no roles")
		}
		switch {
		case me.Role == parley.RoleOwner:
		case me.Role == parley.RoleAdmin && r != parley.RoleOwner && target.Role != parley.RoleOwner:
		default:
			return parley.Member{}, forbidden("only owners grant or revoke ownership; only owners and admins change roles")
		}
		now := a.now().UTC()
		sys = &parley.Message{ID: parley.NewID(), SenderID: actor.UserID, Kind: parley.MessageSystem, CreatedAt: now,
			System: &parley.SystemInfo{Action: parley.SystemRoleChanged, ActorID: actor.UserID, UserIDs: []string{userID}, Role: r}}
	} else if in.Role != nil && !in.Role.Valid() {
		return parley.Member{}, parley.Invalid("role", "role must be owner, admin or member")
	} else {
		in.Role = nil
	}
	if in.Role == nil && in.Muted == nil && in.Pinned == nil && in.Archived == nil {
		return target, nil
	}
	res, err := a.store.UpdateMember(ctx, convID, userID,
		parley.MemberPatch{Role: in.Role, Muted: in.Muted, Pinned: in.Pinned, Archived: in.Archived}, sys,
		func(r parley.MembershipResult) {
			for _, m := range r.Members {
				a.publishMemberUpdated(r.Conversation, m, len(r.System) == 0)
			}
			for _, m := range r.System {
				a.publishMessage(parley.EventMessage, m)
			}
		})
	if err != nil {
		return parley.Member{}, err
	}
	return res.Members[0], nil
}
