package parley

import (
	"errors"
	"sort"
	"testing"
	"time"
)

// fakeTx is an in-memory MemberTx: one conversation's members and history.
type fakeTx struct {
	conv    Conversation
	members map[string]Member
	history []Message
	failOn  string // method name that fails
}

var errFake = errors.New("fake failure")

func newFakeTx(ms ...Member) *fakeTx {
	tx := &fakeTx{conv: Conversation{ID: "c"}, members: map[string]Member{}}
	for _, m := range ms {
		m.ConversationID = "c"
		tx.members[m.UserID] = m
	}
	return tx
}

func (f *fakeTx) fail(name string) error {
	if f.failOn == name {
		return errFake
	}
	return nil
}

func (f *fakeTx) LockConversation(id string) error {
	if id != f.conv.ID {
		return ErrConversationNotFound()
	}
	return f.fail("LockConversation")
}

func (f *fakeTx) Member(_, userID string) (Member, error) {
	m, ok := f.members[userID]
	if !ok {
		return m, Errorf(CodeNotFound, "not a member")
	}
	return m, f.fail("Member")
}

func (f *fakeTx) InsertMembers(_ string, ms []Member) ([]Member, error) {
	var added []Member
	for _, m := range ms {
		if _, ok := f.members[m.UserID]; !ok {
			m.ConversationID = "c"
			f.members[m.UserID] = m
			added = append(added, m)
		}
	}
	return added, f.fail("InsertMembers")
}

func (f *fakeTx) DeleteMember(_, userID string) error {
	delete(f.members, userID)
	return f.fail("DeleteMember")
}

func (f *fakeTx) SetMember(m Member) error {
	f.members[m.UserID] = m
	return f.fail("SetMember")
}

func (f *fakeTx) Owners(string) (int, error) {
	n := 0
	for _, m := range f.members {
		if m.Role == RoleOwner {
			n++
		}
	}
	return n, f.fail("Owners")
}

func (f *fakeTx) Successor(string) (Member, bool, error) {
	var ms []Member
	for _, m := range f.members {
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return Member{}, false, f.fail("Successor")
	}
	sort.Slice(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if (a.Role == RoleAdmin) != (b.Role == RoleAdmin) {
			return a.Role == RoleAdmin
		}
		if !a.JoinedAt.Equal(b.JoinedAt) {
			return a.JoinedAt.Before(b.JoinedAt)
		}
		return a.UserID < b.UserID
	})
	return ms[0], true, f.fail("Successor")
}

func (f *fakeTx) AppendSystem(m *Message) error {
	if err := f.fail("AppendSystem"); err != nil {
		return err
	}
	f.conv.LastSeq++
	m.Seq = f.conv.LastSeq
	f.history = append(f.history, *m)
	return nil
}

func (f *fakeTx) Conversation(string) (Conversation, error) {
	c := f.conv
	c.MemberCount = len(f.members)
	return c, f.fail("Conversation")
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func sysMsg(action SystemAction, actor string, users ...string) Message {
	return Message{ID: NewID(), SenderID: actor, Kind: MessageSystem, CreatedAt: t0.Add(time.Hour),
		System: &SystemInfo{Action: action, ActorID: actor, UserIDs: users}}
}

func TestAddMembersTxNamesOnlyTheAdded(t *testing.T) {
	tx := newFakeTx(Member{UserID: "a", Role: RoleOwner}, Member{UserID: "b", Role: RoleMember})
	res, err := AddMembersTx(tx, "c", []Member{{UserID: "b"}, {UserID: "d", Role: RoleMember}}, 10,
		sysMsg(SystemMembersAdded, "a", "b", "d"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Members) != 1 || res.Members[0].UserID != "d" || res.NewOwner != nil {
		t.Fatalf("result %+v, want d added and no new owner", res)
	}
	if len(res.System) != 1 || res.System[0].ConversationID != "c" || res.System[0].Seq != 1 ||
		len(res.System[0].System.UserIDs) != 1 || res.System[0].System.UserIDs[0] != "d" {
		t.Fatalf("system %+v, want one members_added naming d", res.System)
	}
	if res.Conversation.MemberCount != 3 {
		t.Fatalf("member count %d", res.Conversation.MemberCount)
	}
}

func TestAddMembersTxNobodyNewAppendsNothing(t *testing.T) {
	tx := newFakeTx(Member{UserID: "a", Role: RoleOwner})
	res, err := AddMembersTx(tx, "c", []Member{{UserID: "a"}}, 10, sysMsg(SystemMembersAdded, "a", "a"))
	if err != nil || len(res.Members) != 0 || len(res.System) != 0 || len(tx.history) != 0 {
		t.Fatalf("%+v %v, want nothing added or appended", res, err)
	}
}

func TestAddMembersTxLimit(t *testing.T) {
	tx := newFakeTx(Member{UserID: "a", Role: RoleOwner})
	_, err := AddMembersTx(tx, "c", []Member{{UserID: "b"}, {UserID: "d"}}, 2, sysMsg(SystemMembersAdded, "a"))
	if !IsCode(err, CodeTooLarge) || AsError(err).Field != "user_ids" {
		t.Fatalf("over the limit: %v, want too_large user_ids", err)
	}
}

func TestAddMembersTxToAnOwnerlessConversation(t *testing.T) {
	tx := newFakeTx() // its last member left
	res, err := AddMembersTx(tx, "c", []Member{{UserID: "z", Role: RoleMember, JoinedAt: t0}}, 10,
		sysMsg(SystemMembersAdded, "z"))
	if err != nil {
		t.Fatal(err)
	}
	if res.NewOwner == nil || res.NewOwner.UserID != "z" || tx.members["z"].Role != RoleOwner {
		t.Fatalf("new owner %+v, want z", res.NewOwner)
	}
	if len(res.System) != 2 || res.System[1].System.Action != SystemOwnerChanged || res.System[1].Seq != 2 ||
		!res.System[1].CreatedAt.Equal(res.System[0].CreatedAt) {
		t.Fatalf("system %+v, want members_added then owner_changed at the same time", res.System)
	}
}

func TestAddMembersTxUnknownConversation(t *testing.T) {
	_, err := AddMembersTx(newFakeTx(), "nope", []Member{{UserID: "z"}}, 10, sysMsg(SystemMembersAdded, "z"))
	if !IsCode(err, CodeNotFound) {
		t.Fatalf("%v, want not_found", err)
	}
}

func TestRemoveMemberTxHandsOwnershipOn(t *testing.T) {
	tx := newFakeTx(Member{UserID: "owner", Role: RoleOwner, JoinedAt: t0},
		Member{UserID: "m1", Role: RoleMember, JoinedAt: t0.Add(time.Second)},
		Member{UserID: "ad2", Role: RoleAdmin, JoinedAt: t0.Add(3 * time.Second)},
		Member{UserID: "ad1", Role: RoleAdmin, JoinedAt: t0.Add(3 * time.Second)})
	res, err := RemoveMemberTx(tx, "c", "owner", sysMsg(SystemMemberLeft, "owner", "owner"))
	if err != nil {
		t.Fatal(err)
	}
	// An admin before an earlier member; between equal join times, the lower id.
	if res.NewOwner == nil || res.NewOwner.UserID != "ad1" || res.NewOwner.Role != RoleOwner {
		t.Fatalf("new owner %+v, want ad1", res.NewOwner)
	}
	if len(res.System) != 2 || res.System[1].System.UserIDs[0] != "ad1" || res.System[1].SenderID != "ad1" {
		t.Fatalf("system %+v", res.System)
	}
	if res.Conversation.MemberCount != 3 || res.Members[0].UserID != "owner" {
		t.Fatalf("result %+v", res)
	}
}

func TestRemoveMemberTxKeepsOwnersWhenOneRemains(t *testing.T) {
	tx := newFakeTx(Member{UserID: "o1", Role: RoleOwner}, Member{UserID: "o2", Role: RoleOwner})
	res, err := RemoveMemberTx(tx, "c", "o1", sysMsg(SystemMemberLeft, "o1", "o1"))
	if err != nil || res.NewOwner != nil || len(res.System) != 1 {
		t.Fatalf("%+v %v, want no hand-off", res, err)
	}
	// The last member leaving leaves nobody to hand on to.
	res, err = RemoveMemberTx(tx, "c", "o2", sysMsg(SystemMemberLeft, "o2", "o2"))
	if err != nil || res.NewOwner != nil || len(res.System) != 1 {
		t.Fatalf("%+v %v, want no hand-off", res, err)
	}
}

func TestRemoveMemberTxNotAMember(t *testing.T) {
	tx := newFakeTx(Member{UserID: "a", Role: RoleOwner})
	if _, err := RemoveMemberTx(tx, "c", "x", sysMsg(SystemMemberLeft, "x")); !IsCode(err, CodeNotFound) {
		t.Fatalf("%v, want not_found", err)
	}
	if len(tx.history) != 0 {
		t.Fatal("appended for a refused removal")
	}
}

func TestUpdateMemberTxLastOwner(t *testing.T) {
	tx := newFakeTx(Member{UserID: "a", Role: RoleOwner}, Member{UserID: "b", Role: RoleMember})
	member := RoleMember
	if _, err := UpdateMemberTx(tx, "c", "a", MemberPatch{Role: &member}, nil); !IsCode(err, CodeConflict) {
		t.Fatalf("demoting the last owner: %v, want conflict", err)
	}
	owner := RoleOwner
	sys := sysMsg(SystemRoleChanged, "a", "b")
	res, err := UpdateMemberTx(tx, "c", "b", MemberPatch{Role: &owner}, &sys)
	if err != nil || res.Members[0].Role != RoleOwner || len(res.System) != 1 || res.System[0].ConversationID != "c" {
		t.Fatalf("promoting: %+v %v", res, err)
	}
	if res, err = UpdateMemberTx(tx, "c", "a", MemberPatch{Role: &member}, nil); err != nil || len(res.System) != 0 {
		t.Fatalf("demoting one of two owners: %+v %v", res, err)
	}
	muted := true
	if res, err = UpdateMemberTx(tx, "c", "b", MemberPatch{Muted: &muted}, nil); err != nil ||
		!tx.members["b"].Muted || tx.members["b"].Role != RoleOwner {
		t.Fatalf("settings: %+v %v", res, err)
	}
}

func TestMembershipTxPassesStoreErrorsThrough(t *testing.T) {
	for _, name := range []string{"LockConversation", "Member", "InsertMembers", "DeleteMember", "SetMember",
		"Owners", "Successor", "AppendSystem", "Conversation"} {
		run := func(f func(tx *fakeTx) error) error {
			tx := newFakeTx(Member{UserID: "a", Role: RoleOwner, JoinedAt: t0}, Member{UserID: "b", Role: RoleAdmin})
			tx.failOn = name
			return f(tx)
		}
		member := RoleMember
		errs := []error{
			run(func(tx *fakeTx) error {
				delete(tx.members, "a")
				_, err := AddMembersTx(tx, "c", []Member{{UserID: "d"}}, 10, sysMsg(SystemMembersAdded, "d"))
				return err
			}),
			run(func(tx *fakeTx) error {
				_, err := RemoveMemberTx(tx, "c", "a", sysMsg(SystemMemberLeft, "a", "a"))
				return err
			}),
			run(func(tx *fakeTx) error {
				tx.members["b"] = Member{ConversationID: "c", UserID: "b", Role: RoleOwner}
				_, err := UpdateMemberTx(tx, "c", "a", MemberPatch{Role: &member}, &Message{})
				return err
			}),
		}
		failed := false
		for _, err := range errs {
			if err != nil && !errors.Is(err, errFake) {
				t.Errorf("%s failing: %v, want the store's error", name, err)
			}
			failed = failed || errors.Is(err, errFake)
		}
		if !failed {
			t.Errorf("%s failing: no rule reported it", name)
		}
	}
}

func TestMembersAddedKeepsTheCallersInfo(t *testing.T) {
	sys := sysMsg(SystemMembersAdded, "a", "x", "y")
	got := MembersAdded(sys, "c", []Member{{UserID: "y"}})
	if len(sys.System.UserIDs) != 2 || got.System.UserIDs[0] != "y" || got.ConversationID != "c" ||
		got.System.ActorID != "a" {
		t.Fatalf("MembersAdded: %+v (input now %+v)", got.System, sys.System)
	}
	if got := MembersAdded(Message{}, "c", []Member{{UserID: "y"}}); got.System != nil {
		t.Fatal("MembersAdded invented a SystemInfo")
	}
}
