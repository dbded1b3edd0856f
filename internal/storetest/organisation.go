package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func testOrganisations(t *testing.T, open Opener) {
	t.Run("DefaultExistsCreateUpdate", func(t *testing.T) { testOrgCRUD(t, open) })
	t.Run("ListsStayInTheirOrganisation", func(t *testing.T) { testOrgLists(t, open) })
}

func testOrgCRUD(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	def, err := s.Org(ctx, parley.DefaultOrgID)
	if err != nil || def.Slug != parley.DefaultOrgSlug || def.Registration != parley.RegistrationOpen {
		t.Fatalf("default organisation = %+v, %v", def, err)
	}
	o := parley.Organisation{ID: parley.NewID(), Slug: "acme", Name: "Acme", Registration: parley.RegistrationInvite,
		Limits:           parley.OrgLimits{MaxUsers: 5, MaxMembers: 7, MaxMessageChars: 100, MaxUploadBytes: 1 << 20},
		RequireTwoFactor: true, CreatedAt: acctTime, UpdatedAt: acctTime}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	dup := o
	dup.ID = parley.NewID()
	acctCode(t, "CreateOrg(duplicate slug)", s.CreateOrg(ctx, dup), parley.CodeConflict)
	for _, get := range []func() (parley.Organisation, error){
		func() (parley.Organisation, error) { return s.Org(ctx, o.ID) },
		func() (parley.Organisation, error) { return s.OrgBySlug(ctx, "acme") },
	} {
		if got, err := get(); err != nil || !reflect.DeepEqual(got, o) {
			t.Fatalf("read back = %+v, %v; want %+v", got, err, o)
		}
	}
	_, err = s.Org(ctx, parley.NewID())
	acctCode(t, "Org(unknown)", err, parley.CodeNotFound)
	_, err = s.OrgBySlug(ctx, "nope")
	acctCode(t, "OrgBySlug(unknown)", err, parley.CodeNotFound)

	o.Name, o.Registration, o.RequireTwoFactor = "Acme Ltd", parley.RegistrationClosed, false
	o.Limits = parley.OrgLimits{MaxUsers: 9}
	o.UpdatedAt = acctTime.Add(time.Second)
	o.Slug = "ignored" // the slug never changes
	if err := s.UpdateOrg(ctx, o); err != nil {
		t.Fatalf("UpdateOrg: %v", err)
	}
	o.Slug = "acme"
	if got, err := s.Org(ctx, o.ID); err != nil || !reflect.DeepEqual(got, o) {
		t.Fatalf("after update = %+v, %v; want %+v", got, err, o)
	}
	missing := o
	missing.ID = parley.NewID()
	acctCode(t, "UpdateOrg(unknown)", s.UpdateOrg(ctx, missing), parley.CodeNotFound)

	list, err := s.Orgs(ctx)
	if err != nil || len(list) != 2 || list[0].Slug != "acme" || list[1].Slug != "default" {
		t.Fatalf("Orgs = %+v, %v", list, err)
	}
}

func testOrgLists(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	b := parley.Organisation{ID: parley.NewID(), Slug: "beta", Name: "Beta", Registration: parley.RegistrationOpen,
		CreatedAt: acctTime, UpdatedAt: acctTime}
	if err := s.CreateOrg(ctx, b); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	alice := acctCreate(t, s, acctUser("alice")) // default organisation
	bu := acctUser("bob")
	bu.Org = b.ID
	bob := acctCreate(t, s, bu)
	if got, err := s.User(ctx, bob.ID); err != nil || got.Org != b.ID {
		t.Fatalf("User(bob).Org = %q, %v", got.Org, err)
	}
	if got, err := s.User(ctx, alice.ID); err != nil || got.Org != parley.DefaultOrgID {
		t.Fatalf("User(alice).Org = %q, %v", got.Org, err)
	}
	for _, tc := range []struct {
		org  string
		want string
	}{{"", "alice"}, {parley.DefaultOrgID, "alice"}, {b.ID, "bob"}} {
		us, err := s.SearchUsers(ctx, tc.org, "", "", 10)
		if err != nil || len(us) != 1 || us[0].Username != tc.want {
			t.Fatalf("SearchUsers(org %q) = %v, %v; want only %s", tc.org, usernames(us), err, tc.want)
		}
		us, _, err = s.FindPeople(ctx, tc.org, "Display", 10)
		if err != nil || len(us) != 1 || us[0].Username != tc.want {
			t.Fatalf("FindPeople(org %q) = %v, %v; want only %s", tc.org, usernames(us), err, tc.want)
		}
		names, err := s.PeopleNames(ctx, tc.org, "", 10)
		if err != nil || len(names) != 1 || names[0].Username != tc.want {
			t.Fatalf("PeopleNames(org %q) = %v, %v; want only %s", tc.org, names, err, tc.want)
		}
	}
	if us, err := s.ListUsers(ctx, "", "", "", 10); err != nil || len(us) != 2 {
		t.Fatalf("ListUsers(every organisation) = %v, %v", usernames(us), err)
	}
	if us, err := s.ListUsers(ctx, b.ID, "", "", 10); err != nil || len(us) != 1 || us[0].ID != bob.ID {
		t.Fatalf("ListUsers(beta) = %v, %v", usernames(us), err)
	}
	if n, err := s.CountOrgUsers(ctx, b.ID); err != nil || n != 1 {
		t.Fatalf("CountOrgUsers(beta) = %d, %v", n, err)
	}
	if n, err := s.CountOrgUsers(ctx, ""); err != nil || n != 1 {
		t.Fatalf("CountOrgUsers(default) = %d, %v", n, err)
	}
	// An organisation's admin is no server admin.
	bossU := acctUser("boss")
	bossU.Org, bossU.Role = b.ID, parley.UserRoleAdmin
	acctCreate(t, s, bossU)
	if n, err := s.CountAdmins(ctx); err != nil || n != 0 {
		t.Fatalf("CountAdmins with only beta's admin = %d, %v", n, err)
	}

	// Conversations carry their organisation; the channel directory lists
	// only the asker's organisation's.
	mk := func(owner, title, org string) parley.Conversation {
		c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindChannel, Title: title, Public: true,
			CreatedBy: owner, CreatedAt: acctTime, UpdatedAt: acctTime, Org: org}
		if _, err := s.CreateConversation(ctx, c, []parley.Member{{UserID: owner, Role: parley.RoleOwner, JoinedAt: acctTime}},
			nil, nil); err != nil {
			t.Fatalf("CreateConversation: %v", err)
		}
		return c
	}
	ca := mk(alice.ID, "general", "")
	cb := mk(bob.ID, "general", b.ID)
	if got, err := s.Conversation(ctx, cb.ID); err != nil || got.Org != b.ID {
		t.Fatalf("Conversation(beta's).Org = %q, %v", got.Org, err)
	}
	if got, err := s.Conversation(ctx, ca.ID); err != nil || got.Org != parley.DefaultOrgID {
		t.Fatalf("Conversation(default's).Org = %q, %v", got.Org, err)
	}
	for _, tc := range []struct{ org, want string }{{"", ca.ID}, {b.ID, cb.ID}} {
		list, err := s.PublicChannels(ctx, tc.org, "gen", "", "", 10)
		if err != nil || len(list) != 1 || list[0].ID != tc.want {
			t.Fatalf("PublicChannels(org %q) = %+v, %v; want only %s", tc.org, list, err, tc.want)
		}
	}
	es, err := s.ListConversations(ctx, bob.ID, parley.ConversationCursor{}, 10)
	if err != nil || len(es) != 1 || es[0].Org != b.ID {
		t.Fatalf("ListConversations(bob) = %+v, %v", es, err)
	}

	// Invites belong to an organisation.
	inv := opInvite("beta-code", 1, nil)
	inv.Org = b.ID
	if err := s.CreateInvite(ctx, inv); err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	if err := s.CreateInvite(ctx, opInvite("default-code", 1, nil)); err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	if list, err := s.Invites(ctx, b.ID); err != nil || len(list) != 1 || list[0].Code != "beta-code" {
		t.Fatalf("Invites(beta) = %+v, %v", list, err)
	}
	if list, err := s.Invites(ctx, ""); err != nil || len(list) != 2 {
		t.Fatalf("Invites(every organisation) = %+v, %v", list, err)
	}
	if got, err := s.ClaimInvite(ctx, "beta-code", acctTime); err != nil || got.Org != b.ID {
		t.Fatalf("ClaimInvite(beta-code).Org = %q, %v", got.Org, err)
	}
}
