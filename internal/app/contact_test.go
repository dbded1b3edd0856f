package app_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestContactRequestsAndPrivacy(t *testing.T) {
	e := newMsgEnv(t, app.Limits{})
	ctx := context.Background()
	alice, bob, carol, dave := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol"), e.user(t, "dave")
	code := func(err error, want parley.Code) {
		t.Helper()
		if !parley.IsCode(err, want) {
			t.Fatalf("got %v, want %s", err, want)
		}
	}
	_, err := e.app.RequestContact(ctx, alice, alice.UserID)
	code(err, parley.CodeInvalid)
	_, err = e.app.RequestContact(ctx, alice, "nope")
	code(err, parley.CodeInvalid)
	_, err = e.app.RequestContact(ctx, alice, parley.NewID())
	code(err, parley.CodeNotFound)
	_, err = e.app.RequestContact(ctx, parley.Actor{}, bob.UserID)
	code(err, parley.CodeUnauthenticated)
	if acc, err := e.app.RequestContact(ctx, alice, bob.UserID); err != nil || acc {
		t.Fatal(acc, err)
	}
	_, err = e.app.RequestContact(ctx, alice, bob.UserID)
	code(err, parley.CodeConflict)
	code(e.app.AnswerContactRequest(ctx, alice, bob.UserID, true), parley.CodeNotFound) // not alice's to answer
	if err := e.app.AnswerContactRequest(ctx, bob, alice.UserID, true); err != nil {
		t.Fatal(err)
	}
	if cs, _, err := e.app.Contacts(ctx, alice, "", 0); err != nil || len(cs) != 1 || cs[0].UserID != bob.UserID {
		t.Fatalf("contacts %v %v", cs, err)
	}
	// bob and carol become contacts; carol then finds alice only while
	// alice's find_me admits contacts of contacts.
	if _, err := e.app.RequestContact(ctx, carol, bob.UserID); err != nil {
		t.Fatal(err)
	}
	if acc, err := e.app.RequestContact(ctx, bob, carol.UserID); err != nil || !acc {
		t.Fatal("crossing request:", acc, err)
	}
	found := func(a parley.Actor, q, id string) bool {
		t.Helper()
		us, err := e.app.FindPeople(ctx, a, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.ID == id {
				return true
			}
			if u.ID == a.UserID {
				t.Fatal("found oneself")
			}
		}
		return false
	}
	if !found(carol, "ALI", alice.UserID) || !found(dave, "alice", alice.UserID) {
		t.Fatal("alice not found by default")
	}
	// Typos: one edit in five letters finds her; three letters tolerate none.
	if !found(dave, "alcie", alice.UserID) || !found(dave, "@Alicr", alice.UserID) || found(dave, "alx", alice.UserID) {
		t.Fatal("typo-tolerant search")
	}
	if _, err := e.app.SetPrivacySettings(ctx, alice, parley.PrivacySettings{FindMe: parley.AudienceContactsOfContacts,
		DirectFrom: parley.AudienceContacts}); err != nil {
		t.Fatal(err)
	}
	if !found(carol, "alice", alice.UserID) || found(dave, "alice", alice.UserID) {
		t.Fatal("contacts_of_contacts not applied")
	}
	if !found(carol, "alcie", alice.UserID) || found(dave, "alcie", alice.UserID) {
		t.Fatal("contacts_of_contacts not applied to typo matches")
	}
	_, err = e.app.RequestContact(ctx, dave, alice.UserID)
	code(err, parley.CodeForbidden)
	// Direct conversations: contacts only.
	_, _, err = e.app.CreateConversation(ctx, carol, app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{alice.UserID}})
	code(err, parley.CodeForbidden)
	if _, _, err := e.app.CreateConversation(ctx, bob, app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{alice.UserID}}); err != nil {
		t.Fatal(err)
	}
	// But alice may still answer a request dave sent before she hid.
	if _, err := e.app.SetPrivacySettings(ctx, alice, parley.PrivacySettings{FindMe: parley.AudienceNobody}); err != nil {
		t.Fatal(err)
	}
	if found(carol, "alice", alice.UserID) || !found(bob, "alice", alice.UserID) {
		t.Fatal("nobody: only contacts find alice")
	}
	_, err = e.app.SetPrivacySettings(ctx, alice, parley.PrivacySettings{FindMe: "friends"})
	code(err, parley.CodeInvalid)
	_, err = e.app.SetPrivacySettings(ctx, alice, parley.PrivacySettings{DirectFrom: parley.AudienceNobody})
	code(err, parley.CodeInvalid)
	// Decline, cancel, remove.
	if _, err := e.app.RequestContact(ctx, dave, carol.UserID); err != nil {
		t.Fatal(err)
	}
	if err := e.app.AnswerContactRequest(ctx, carol, dave.UserID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.RequestContact(ctx, dave, bob.UserID); err != nil {
		t.Fatal(err)
	}
	in, out, err := e.app.ContactRequests(ctx, dave)
	if err != nil || len(in) != 0 || len(out) != 1 {
		t.Fatalf("requests %v %v %v", in, out, err)
	}
	if err := e.app.CancelContactRequest(ctx, dave, bob.UserID); err != nil {
		t.Fatal(err)
	}
	code(e.app.CancelContactRequest(ctx, dave, bob.UserID), parley.CodeNotFound)
	if err := e.app.RemoveContact(ctx, bob, alice.UserID); err != nil {
		t.Fatal(err)
	}
	code(e.app.RemoveContact(ctx, bob, alice.UserID), parley.CodeNotFound)
	// Bad people queries.
	for _, q := range []string{"", "  ", "@"} {
		_, err := e.app.FindPeople(ctx, bob, q, 0)
		code(err, parley.CodeInvalid)
	}
	_, err = e.app.FindPeople(ctx, bob, string(make([]byte, 65)), 0)
	code(err, parley.CodeInvalid) // NUL bytes
	_, err = e.app.FindPeople(ctx, bob, "x", 1000)
	code(err, parley.CodeInvalid)
}

func TestContactRequestFloodIsRateLimited(t *testing.T) {
	e := newMsgEnv(t, app.Limits{SignupsPerAddr: -1}) // 31 accounts from one (empty) address
	ctx := context.Background()
	spammer := e.user(t, "spammer")
	var err error
	for i := range 30 {
		target := e.user(t, "target"+string(rune('a'+i)))
		if _, err = e.app.RequestContact(ctx, spammer, target.UserID); err != nil {
			break
		}
	}
	if !parley.IsCode(err, parley.CodeRateLimited) {
		t.Fatalf("flood: %v", err)
	}
}
