package parley

import "testing"

func TestMemberPatchApplyAndDemotes(t *testing.T) {
	owner, admin, yes := RoleOwner, RoleAdmin, true
	m := Member{Role: RoleOwner, Pinned: true}
	if got := (MemberPatch{}).Apply(m); got != m {
		t.Errorf("empty patch changed %+v to %+v", m, got)
	}
	got := MemberPatch{Role: &admin, Muted: &yes}.Apply(m)
	if got.Role != RoleAdmin || !got.Muted || !got.Pinned || got.Archived {
		t.Errorf("applied: %+v", got)
	}
	if !(MemberPatch{Role: &admin}).Demotes(m) {
		t.Error("owner → admin should demote")
	}
	if (MemberPatch{Role: &owner}).Demotes(m) || (MemberPatch{Muted: &yes}).Demotes(m) {
		t.Error("keeping the owner role is no demotion")
	}
	if (MemberPatch{Role: &owner}).Demotes(Member{Role: RoleMember}) {
		t.Error("promotion is no demotion")
	}
	if e := ErrLastOwner(); e.Code != CodeConflict || e.Field != "role" {
		t.Errorf("ErrLastOwner: %+v", e)
	}
}
