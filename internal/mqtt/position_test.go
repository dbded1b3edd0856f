package mqtt_test

import (
	"context"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/server"
)

// TestPersistentSessionAcrossRestart: a persistent session's position
// survives a server restart: after it, the client (same client id, a
// session the new process does not hold) re-subscribes and gets every
// message sent while it was away, in order, and nothing it had
// acknowledged. A clean start forgets the position.
func TestPersistentSessionAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	onDir := func(c *server.Config) { c.DataDir = dir }
	e := start(t, onDir)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	send := func(c *client.Client, id string) int64 {
		t.Helper()
		m, _, err := c.Send(ctx, conv, client.SendRequest{ClientMsgID: id, Body: id})
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	no := false
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clientID: "bob-dev", expiry: 3600})
	sub.subscribe(1, msgTopic(conv))
	first := send(alice, "r0")
	if _, m := sub.message(); m.Seq != first { // acknowledged (PUBACK)
		t.Fatalf("live: %+v", m)
	}
	// The PUBACK precedes the DISCONNECT on the connection; the disconnect saves.
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.closed()
	var missed []int64
	for i := 1; i <= 5; i++ {
		missed = append(missed, send(alice, "r"+itoa(int64(i))))
	}
	e.Stop()

	e2 := start(t, onDir)
	alice2, bob2 := e2.Client(client.WithToken(alice.Token())), bob.Token()
	sub = dial(t, mqttAddr(e2), connOpts{user: "bob", pass: bob2, clientID: "bob-dev", expiry: 3600, wantPresent: &no})
	sub.subscribe(1, msgTopic(conv))
	go func() { _, _, _ = alice2.Send(ctx, conv, client.SendRequest{ClientMsgID: "r6", Body: "r6"}) }()
	for _, want := range append(missed, missed[len(missed)-1]+1) {
		if _, m := sub.message(); m.Seq != want {
			t.Fatalf("after the restart: seq %d, want %d", m.Seq, want)
		}
	}
	sub.quiet()
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.closed()

	// A clean start forgets the position: subscribing again starts from now.
	send(alice2, "r7")
	sub = dial(t, mqttAddr(e2), connOpts{user: "bob", pass: bob2, clientID: "bob-dev", clean: true})
	sub.subscribe(1, msgTopic(conv))
	sub.quiet()
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.closed()
	e2.Stop()
	e3 := start(t, onDir)
	sub = dial(t, mqttAddr(e3), connOpts{user: "bob", pass: bob2, clientID: "bob-dev", expiry: 3600, wantPresent: &no})
	sub.subscribe(1, msgTopic(conv))
	sub.quiet()
}
