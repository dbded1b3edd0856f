package storetest

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
)

func testContacts(t *testing.T, open Opener) {
	t.Run("requests", func(t *testing.T) { contactRequests(t, open) })
	t.Run("suggestions, privacy and people", func(t *testing.T) { contactSuggestionsPrivacyAndPeople(t, open) })
}

// contactRequests: requests.
func contactRequests(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cr", 4)
	acc, err := s.RequestContact(ctx, u[0], u[1], baseTime)
	if err != nil || acc {
		t.Fatalf("request: %v %v", acc, err)
	}
	_, err = s.RequestContact(ctx, u[0], u[1], baseTime)
	wantCode(t, err, parley.CodeConflict)
	_, err = s.RequestContact(ctx, u[0], parley.NewID(), baseTime)
	wantCode(t, err, parley.CodeNotFound)
	in, _ := s.ContactRequests(ctx, u[1], true)
	out, _ := s.ContactRequests(ctx, u[0], false)
	if len(in) != 1 || in[0].FromID != u[0] || len(out) != 1 || out[0].ToID != u[1] || !in[0].CreatedAt.Equal(baseTime) {
		t.Fatalf("in %v out %v", in, out)
	}
	if d, _ := s.ContactDistance(ctx, u[0], u[1]); d != 0 {
		t.Fatalf("distance before accept %d", d)
	}
	// Crossing requests: the second accepts the first.
	acc, err = s.RequestContact(ctx, u[1], u[0], baseTime)
	if err != nil || !acc {
		t.Fatalf("crossing request: %v %v", acc, err)
	}
	_, err = s.RequestContact(ctx, u[0], u[1], baseTime)
	wantCode(t, err, parley.CodeConflict)
	if in, _ := s.ContactRequests(ctx, u[1], true); len(in) != 0 {
		t.Fatalf("request left over %v", in)
	}
	// Accept, decline, cancel.
	_, _ = s.RequestContact(ctx, u[2], u[1], baseTime)
	_, _ = s.RequestContact(ctx, u[3], u[1], baseTime)
	_, _ = s.RequestContact(ctx, u[0], u[3], baseTime)
	if err := s.AnswerContactRequest(ctx, u[2], u[1], true, baseTime); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.AnswerContactRequest(ctx, u[2], u[1], true, baseTime), parley.CodeNotFound)
	if err := s.AnswerContactRequest(ctx, u[3], u[1], false, baseTime); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.AnswerContactRequest(ctx, u[1], u[3], true, baseTime), parley.CodeNotFound)
	wantCode(t, s.CancelContactRequest(ctx, u[3], u[0]), parley.CodeNotFound)
	if err := s.CancelContactRequest(ctx, u[0], u[3]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CancelContactRequest(ctx, u[0], u[3]), parley.CodeNotFound)
	cs, err := s.Contacts(ctx, u[1], "", 10)
	if err != nil || len(cs) != 2 {
		t.Fatalf("contacts %v %v", cs, err)
	}
	if page, _ := s.Contacts(ctx, u[1], cs[0].UserID, 10); len(page) != 1 || page[0].UserID != cs[1].UserID {
		t.Fatalf("second page %v", page)
	}
	// u0 – u1 – u2: u0 and u2 are contacts of contacts; u3 is nobody's.
	for _, tc := range []struct {
		a, b string
		d    parley.Distance
	}{{u[0], u[1], 1}, {u[1], u[0], 1}, {u[0], u[2], 2}, {u[2], u[0], 2}, {u[0], u[3], 0}, {u[3], u[1], 0}} {
		if d, err := s.ContactDistance(ctx, tc.a, tc.b); err != nil || d != tc.d {
			t.Fatalf("distance: %d %v, want %d", d, err, tc.d)
		}
	}
	if err := s.RemoveContact(ctx, u[1], u[0]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RemoveContact(ctx, u[0], u[1]), parley.CodeNotFound)
	if d, _ := s.ContactDistance(ctx, u[0], u[1]); d != 0 {
		t.Fatalf("distance after removal %d", d)
	}
}

// contactSuggestionsPrivacyAndPeople: suggestions, privacy and people.
func contactSuggestionsPrivacyAndPeople(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cs", 4)
	newConversation(t, s, parley.KindGroup, "a", u[0], u[1], u[2])
	newConversation(t, s, parley.KindGroup, "b", u[0], u[2])
	newConversation(t, s, parley.KindGroup, "c", u[1], u[3])
	sg, err := s.ContactSuggestions(ctx, u[0], 10)
	if err != nil || len(sg) != 2 || sg[0].UserID != u[2] || sg[0].Shared != 2 || sg[1].UserID != u[1] || sg[1].Shared != 1 {
		t.Fatalf("suggestions %+v %v", sg, err)
	}
	_, _ = s.RequestContact(ctx, u[1], u[0], baseTime)
	if sg, _ := s.ContactSuggestions(ctx, u[0], 10); len(sg) != 1 || sg[0].UserID != u[2] {
		t.Fatalf("suggestions after request %+v", sg)
	}
	p, err := s.PrivacySettings(ctx, u[0])
	if err != nil || p != parley.DefaultPrivacySettings() {
		t.Fatalf("default privacy %+v %v", p, err)
	}
	want := parley.PrivacySettings{FindMe: parley.AudienceNobody, DirectFrom: parley.AudienceContacts}
	if err := s.SetPrivacySettings(ctx, u[0], want); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PrivacySettings(ctx, u[0]); p != want {
		t.Fatalf("privacy %+v", p)
	}
	wantCode(t, s.SetPrivacySettings(ctx, parley.NewID(), want), parley.CodeNotFound)
	// People: usernames cs0…cs3, display names "cs". Prefix first.
	if err := s.UpdateUser(ctx, parley.User{ID: u[3], DisplayName: "Zoë Winter", Role: parley.UserRoleUser,
		UpdatedAt: baseTime, Settings: parley.DefaultUserSettings()}); err != nil {
		t.Fatal(err)
	}
	users, privs, err := s.FindPeople(ctx, "", "winter", 10)
	if err != nil || len(users) != 1 || users[0].ID != u[3] || len(privs) != 1 {
		t.Fatalf("find winter %v %v", users, err)
	}
	users, privs, err = s.FindPeople(ctx, "", "cs0", 10)
	if err != nil || len(users) != 1 || users[0].ID != u[0] || privs[0] != want {
		t.Fatalf("find cs0 %v %v %v", users, privs, err)
	}
	if users, _, _ := s.FindPeople(ctx, "", "%", 10); len(users) != 0 {
		t.Fatalf("%% matched %v", users)
	}
	if users, _, _ := s.FindPeople(ctx, "", "S", 3); len(users) != 3 {
		t.Fatalf("limit: %v", users)
	}
	// PeopleNames pages over enabled users by id; a disabled user is left out.
	if err := s.UpdateUser(ctx, parley.User{ID: u[2], DisplayName: "cs", Role: parley.UserRoleUser, Disabled: true,
		UpdatedAt: baseTime, Settings: parley.DefaultUserSettings()}); err != nil {
		t.Fatal(err)
	}
	if sg, err := s.ContactSuggestions(ctx, u[0], 10); err != nil || len(sg) != 0 {
		t.Fatalf("suggestions list a disabled user: %+v %v", sg, err)
	}
	var names []parley.PersonName
	for after := ""; ; {
		page, err := s.PeopleNames(ctx, "", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d over limit 2", len(page))
		}
		names = append(names, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	seen := map[string]parley.PersonName{}
	for i, n := range names {
		if i > 0 && n.ID <= names[i-1].ID {
			t.Fatalf("names out of id order: %v", names)
		}
		seen[n.ID] = n
	}
	if _, ok := seen[u[2]]; ok {
		t.Fatalf("disabled user listed: %v", names)
	}
	if n := seen[u[3]]; n.DisplayName != "Zoë Winter" || n.Username == "" {
		t.Fatalf("names: %v", names)
	}
	if _, ok := seen[u[0]]; !ok {
		t.Fatalf("names miss %s: %v", u[0], names)
	}
}
