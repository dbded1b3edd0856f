package mqtt_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
)

// TestOrganisations: an MQTT client of one organisation cannot subscribe
// to another organisation's public channel or its users' presence, nor
// post there, nor leave a will there.
func TestOrganisations(t *testing.T) {
	e := start(t, nil)
	for _, slug := range []string{"alpha", "beta"} {
		if _, err := e.Server.App.CreateOrg(context.Background(), app.Operator, app.OrgInput{Slug: slug, Name: slug,
			Registration: parley.RegistrationOpen}); err != nil {
			t.Fatal(err)
		}
	}
	ann, _ := e.NewOrgUser(t, "alpha", "ann", parley.UserRoleUser)
	bea, beaU := e.NewOrgUser(t, "beta", "bea", parley.UserRoleUser)
	ch, _, err := bea.CreateConversation(context.Background(), client.CreateConversationRequest{Kind: parley.KindChannel,
		Title: "beta news", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	addr := mqttAddr(e)
	a := dial(t, addr, connOpts{user: "ann", pass: ann.Token(), clean: true})
	codes := a.subscribe(1, msgTopic(ch.ID), "parley/u/"+beaU.ID+"/presence")
	for i, c := range codes {
		if c != 0x87 {
			t.Errorf("filter %d: SUBACK 0x%02x, want 0x87", i, c)
		}
	}
	// A will on beta's channel is refused at CONNECT, as every will is.
	dial(t, addr, connOpts{user: "ann", pass: ann.Token(), clientID: "ann-will", clean: true, wantCode: 0x87,
		will: &will{topic: msgTopic(ch.ID), payload: `{"type":"message","message":{"body":"from alpha"}}`, retain: true}})
	if ack := a.publish(sendTopic(ch.ID), 1, "from alpha", "a-1"); ack.ReasonCode != 0x87 {
		t.Fatalf("post to beta's channel: 0x%02x", ack.ReasonCode)
	}
	hist, err := bea.History(context.Background(), ch.ID, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if m.Body == "from alpha" {
			t.Fatalf("stored %+v", m)
		}
	}
}
