package e2e_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestContactsOverREST drives people search, contact requests, the contact
// list, suggestions and privacy settings through the SDK; every response is
// validated against the OpenAPI document.
func TestContactsOverREST(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, a := env.NewUser(t, "alice")
	bob, b := env.NewUser(t, "bob")
	carol, c := env.NewUser(t, "carol")
	group(t, alice, b, c)
	people := must[[]parley.User](t)(bob.FindPeople(ctx, "@ali", 0))
	if len(people) != 1 || people[0].ID != a.ID || people[0].Email != "" {
		t.Fatalf("people %+v", people)
	}
	sg := must[[]parley.ContactSuggestion](t)(alice.ContactSuggestions(ctx))
	if len(sg) != 2 {
		t.Fatalf("suggestions %+v", sg)
	}
	if acc := must[bool](t)(alice.RequestContact(ctx, b.ID)); acc {
		t.Fatal("accepted at once")
	}
	_, err := alice.RequestContact(ctx, b.ID)
	wantAPICode(t, err, parley.CodeConflict)
	_, err = alice.RequestContact(ctx, a.ID)
	wantAPICode(t, err, parley.CodeInvalid)
	_, err = alice.RequestContact(ctx, parley.NewID())
	wantAPICode(t, err, parley.CodeNotFound)
	reqs := must[client.ContactRequests](t)(bob.ContactRequests(ctx))
	if len(reqs.Incoming) != 1 || reqs.Incoming[0].FromID != a.ID || len(reqs.Outgoing) != 0 {
		t.Fatalf("requests %+v", reqs)
	}
	if err := bob.AnswerContactRequest(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	page := must[client.ContactPage](t)(alice.Contacts(ctx, "", 0))
	if len(page.Contacts) != 1 || page.Contacts[0].UserID != b.ID {
		t.Fatalf("contacts %+v", page)
	}
	// carol limits direct chats to contacts and hides from strangers.
	p := must[parley.PrivacySettings](t)(carol.SetPrivacy(ctx, parley.PrivacySettings{FindMe: parley.AudienceNobody,
		DirectFrom: parley.AudienceContacts}))
	if p.FindMe != parley.AudienceNobody || must[parley.PrivacySettings](t)(carol.Privacy(ctx)) != p {
		t.Fatalf("privacy %+v", p)
	}
	if len(must[[]parley.User](t)(alice.FindPeople(ctx, "carol", 0))) != 0 {
		t.Fatal("carol found")
	}
	_, _, err = alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{c.ID}})
	wantAPICode(t, err, parley.CodeForbidden)
	_, err = alice.RequestContact(ctx, c.ID)
	wantAPICode(t, err, parley.CodeForbidden)
	_, err = carol.SetPrivacy(ctx, parley.PrivacySettings{FindMe: "friends"})
	wantAPICode(t, err, parley.CodeInvalid)
	_, err = alice.FindPeople(ctx, "", 0)
	wantAPICode(t, err, parley.CodeInvalid)
	if err := alice.RemoveContact(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	wantAPICode(t, alice.RemoveContact(ctx, b.ID), parley.CodeNotFound)
	wantAPICode(t, alice.CancelContactRequest(ctx, c.ID), parley.CodeNotFound)
	wantAPICode(t, bob.AnswerContactRequest(ctx, c.ID, false), parley.CodeNotFound)
}
