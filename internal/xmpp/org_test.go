package xmpp_test

import (
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
)

// TestSlixmppOrganisations: over XMPP, a user of one organisation sees
// only their organisation on the roster, cannot message a user of another
// (the JID reads as unknown) and cannot enter its public channel.
func TestSlixmppOrganisations(t *testing.T) {
	requireSlixmpp(t)
	env, addr := startXMPP(t, nil)
	for _, slug := range []string{"alpha", "beta"} {
		if _, err := env.Server.App.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: slug, Name: slug,
			Registration: parley.RegistrationOpen}); err != nil {
			t.Fatal(err)
		}
	}
	annc, _ := env.NewOrgUser(t, "alpha", "ann", parley.UserRoleUser)
	_, amy := env.NewOrgUser(t, "alpha", "amy", parley.UserRoleUser)
	beac, _ := env.NewOrgUser(t, "beta", "bea", parley.UserRoleUser)
	if _, _, err := annc.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{amy.ID}}); err != nil {
		t.Fatal(err)
	}
	ch, _, err := beac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel, Title: "beta news", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	b := startPy(t, addr, "bea", apitest.Password, "")
	b.wait("session_start", nil)
	a := startPy(t, addr, "ann", apitest.Password, "")
	ss := a.wait("session_start", nil)
	if r := ss["roster"].([]any); len(r) != 1 || r[0] != "amy@"+domain {
		t.Fatalf("ann's roster %v (only amy of alpha)", ss["roster"])
	}
	a.do(map[string]any{"op": "send", "to": "bea@" + domain, "body": "hello beta", "id": "x1"})
	if ev := a.wait("message_error", nil); ev["id"] != "x1" {
		t.Fatalf("message to another organisation: %v", ev)
	}
	a.do(map[string]any{"op": "join", "room": ch.ID + "@conference." + domain, "nick": "ann"})
	if ev := a.wait("error", nil); ev["op"] != "join" {
		t.Fatalf("joining beta's public channel: %v", ev)
	}
	time.Sleep(300 * time.Millisecond)
	b.none("message")
	if _, err := annc.Conversation(ctx, ch.ID); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("beta's channel seen from alpha: %v", err)
	}
}
