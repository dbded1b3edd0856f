package parley

import (
	"context"
	"time"
)

// MemberTx is the part of a store's write transaction that the membership
// rules below drive: each method reads or writes inside the caller's
// transaction and none commits. Errors other than *Error are the store's
// own (driver) errors; the rules pass them through unchanged.
type MemberTx interface {
	// LockConversation locks the conversation's row (or its head) for the
	// rest of the transaction, so that member counts, owners and seqs do not
	// change under the rule. ErrConversationNotFound.
	LockConversation(id string) error
	// Member returns one membership; CodeNotFound if not a member.
	Member(conversationID, userID string) (Member, error)
	// InsertMembers inserts the members not already present (JoinedAt kept,
	// receipts and settings zero), adds them to the member count and returns
	// them as stored.
	InsertMembers(conversationID string, ms []Member) ([]Member, error)
	// DeleteMember deletes a membership and takes it off the member count.
	DeleteMember(conversationID, userID string) error
	// SetMember writes m's Role, Muted, Pinned and Archived.
	SetMember(m Member) error
	// Owners counts the conversation's owners.
	Owners(conversationID string) (int, error)
	// Successor returns the member first in hand-off order — admins before
	// members, then earlier JoinedAt, then lower UserID — or false when the
	// conversation has no members.
	Successor(conversationID string) (Member, bool, error)
	// AppendSystem appends m unconditionally (CheckNone) as the
	// conversation's next message and sets its Seq.
	AppendSystem(m *Message) error
	// Conversation reads the conversation with this transaction's writes.
	Conversation(id string) (Conversation, error)
}

// MemberWrites implements ConversationStore's membership writes
// (AddMembers, RemoveMember, UpdateMember) by the rules below. A store
// embeds it, set to its way of running a rule: in one write transaction
// that commits only if the rule succeeded, with notify called after the
// commit as ConversationStore's commit hooks are.
type MemberWrites func(ctx context.Context, rule func(MemberTx) (MembershipResult, error),
	notify func(MembershipResult)) (MembershipResult, error)

// AddMembers implements ConversationStore by AddMembersTx.
func (run MemberWrites) AddMembers(ctx context.Context, conversationID string, members []Member, maxMembers int,
	system Message, notify func(MembershipResult)) (MembershipResult, error) {
	return run.do(ctx, func(tx MemberTx) (MembershipResult, error) {
		return AddMembersTx(tx, conversationID, members, maxMembers, system)
	}, notify)
}

// RemoveMember implements ConversationStore by RemoveMemberTx.
func (run MemberWrites) RemoveMember(ctx context.Context, conversationID, userID string, system Message,
	notify func(MembershipResult)) (MembershipResult, error) {
	return run.do(ctx, func(tx MemberTx) (MembershipResult, error) {
		return RemoveMemberTx(tx, conversationID, userID, system)
	}, notify)
}

// UpdateMember implements ConversationStore by UpdateMemberTx.
func (run MemberWrites) UpdateMember(ctx context.Context, conversationID, userID string, p MemberPatch,
	system *Message, notify func(MembershipResult)) (MembershipResult, error) {
	return run.do(ctx, func(tx MemberTx) (MembershipResult, error) {
		return UpdateMemberTx(tx, conversationID, userID, p, system)
	}, notify)
}

func (run MemberWrites) do(ctx context.Context, rule func(MemberTx) (MembershipResult, error),
	notify func(MembershipResult)) (MembershipResult, error) {
	res, err := run(ctx, rule, notify)
	if err != nil {
		return MembershipResult{}, err
	}
	return res, nil
}

// AddMembersTx is ConversationStore.AddMembers inside tx (see the contract
// there): the members not yet present are inserted, the members-added
// system message names them, an ownerless conversation gets an owner, and
// the member count must stay within maxMembers.
func AddMembersTx(tx MemberTx, conversationID string, members []Member, maxMembers int, system Message) (MembershipResult, error) {
	var res MembershipResult
	if err := tx.LockConversation(conversationID); err != nil {
		return res, err
	}
	added, err := tx.InsertMembers(conversationID, members)
	if err != nil {
		return res, err
	}
	res.Members = added
	if len(added) > 0 {
		sys := MembersAdded(system, conversationID, added)
		if err := appendSystem(tx, &res, &sys); err != nil {
			return res, err
		}
		// Joining a conversation that its last member left ownerless.
		if err := handOwnership(tx, conversationID, sys.CreatedAt, &res); err != nil {
			return res, err
		}
	}
	if res.Conversation, err = tx.Conversation(conversationID); err != nil {
		return res, err
	}
	return res, AdmitMemberCount(res.Conversation.MemberCount, maxMembers)
}

// RemoveMemberTx is ConversationStore.RemoveMember inside tx: the
// membership goes, system is appended, and when the last owner left the
// successor becomes owner.
func RemoveMemberTx(tx MemberTx, conversationID, userID string, system Message) (MembershipResult, error) {
	var res MembershipResult
	m, err := lockedMember(tx, conversationID, userID)
	if err != nil {
		return res, err
	}
	if err := tx.DeleteMember(conversationID, userID); err != nil {
		return res, err
	}
	res.Members = []Member{m}
	sys := system
	sys.ConversationID = conversationID
	if err := appendSystem(tx, &res, &sys); err != nil {
		return res, err
	}
	if m.Role == RoleOwner {
		if err := handOwnership(tx, conversationID, sys.CreatedAt, &res); err != nil {
			return res, err
		}
	}
	res.Conversation, err = tx.Conversation(conversationID)
	return res, err
}

// UpdateMemberTx is ConversationStore.UpdateMember inside tx: p applies
// unless it demotes the last owner (ErrLastOwner), and system (may be nil)
// is appended.
func UpdateMemberTx(tx MemberTx, conversationID, userID string, p MemberPatch, system *Message) (MembershipResult, error) {
	var res MembershipResult
	m, err := lockedMember(tx, conversationID, userID)
	if err != nil {
		return res, err
	}
	if p.Demotes(m) {
		owners, err := tx.Owners(conversationID)
		if err != nil {
			return res, err
		}
		if owners <= 1 {
			return res, ErrLastOwner()
		}
	}
	m = p.Apply(m)
	if err := tx.SetMember(m); err != nil {
		return res, err
	}
	res.Members = []Member{m}
	if system != nil {
		sys := *system
		sys.ConversationID = conversationID
		if err := appendSystem(tx, &res, &sys); err != nil {
			return res, err
		}
	}
	res.Conversation, err = tx.Conversation(conversationID)
	return res, err
}

// lockedMember locks the conversation, then reads userID's membership.
func lockedMember(tx MemberTx, conversationID, userID string) (Member, error) {
	if err := tx.LockConversation(conversationID); err != nil {
		return Member{}, err
	}
	return tx.Member(conversationID, userID)
}

func appendSystem(tx MemberTx, res *MembershipResult, sys *Message) error {
	if err := tx.AppendSystem(sys); err != nil {
		return err
	}
	res.System = append(res.System, *sys)
	return nil
}

// handOwnership applies the last-owner rule: if no owner remains, the
// successor (MemberTx.Successor) becomes owner and an owner-changed system
// message, dated at, records it.
func handOwnership(tx MemberTx, conversationID string, at time.Time, res *MembershipResult) error {
	owners, err := tx.Owners(conversationID)
	if err != nil || owners > 0 {
		return err
	}
	next, ok, err := tx.Successor(conversationID)
	if err != nil || !ok {
		return err // nobody left
	}
	next.Role = RoleOwner
	if err := tx.SetMember(next); err != nil {
		return err
	}
	res.NewOwner = &next
	sys := OwnerChanged(conversationID, next.UserID, at)
	return appendSystem(tx, res, &sys)
}

// MembersAdded returns system, the members-added message of a conversation,
// naming the users actually added (its System.UserIDs is replaced).
func MembersAdded(system Message, conversationID string, added []Member) Message {
	system.ConversationID = conversationID
	if system.System != nil {
		info := *system.System
		info.UserIDs = make([]string, len(added))
		for i, m := range added {
			info.UserIDs[i] = m.UserID
		}
		system.System = &info
	}
	return system
}

// OwnerChanged returns the system message recording that userID became the
// conversation's owner when its last owner left.
func OwnerChanged(conversationID, userID string, at time.Time) Message {
	return Message{ID: NewID(), ConversationID: conversationID, SenderID: userID, Kind: MessageSystem, CreatedAt: at,
		System: &SystemInfo{Action: SystemOwnerChanged, UserIDs: []string{userID}, Role: RoleOwner}}
}

// AdmitMemberCount refuses a member count beyond maxMembers with
// CodeTooLarge (field user_ids).
func AdmitMemberCount(count, maxMembers int) error {
	if count > maxMembers {
		return TooLarge("user_ids", "a conversation has at most %d members", maxMembers)
	}
	return nil
}
