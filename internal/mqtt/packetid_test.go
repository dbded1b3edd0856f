package mqtt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley/client"
)

// TestClientPacketIDsIndependent: the client's packet identifiers are its
// own (MQTT 5 §2.2.1): a SUBSCRIBE, UNSUBSCRIBE or QoS 1 PUBLISH that
// reuses the identifier of a delivery the server still has in flight is
// served (not refused 0x91), and the delivery stays in flight — resent,
// marked dup, when the session resumes unacknowledged.
//
// mosquitto_sub -c met this by chance: a resumed session's replay sent its
// first message (server id 1) before the client's SUBSCRIBE (client id 1)
// was read; the SUBACK said 0x91 and mosquitto_sub exited, status 0, with
// one message of two.
func TestClientPacketIDsIndependent(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	addr := mqttAddr(e)
	opts := connOpts{user: "bob", pass: bob.Token(), clientID: "bob-dev", expiry: 3600}

	sub := dial(t, addr, opts)
	sub.subscribe(1, msgTopic(conv))
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.closed()
	if _, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "missed", Body: "missed"}); err != nil {
		t.Fatal(err)
	}

	// The resumed session's replay: a delivery in flight, not acknowledged.
	sub = dial(t, addr, opts)
	pub := sub.next(packets.Publish)
	if !strings.Contains(string(pub.Payload), `"body":"missed"`) {
		t.Fatalf("replay: %s", pub.Payload)
	}
	id := pub.PacketID

	sub.id = id - 1 // the next SUBSCRIBE uses id
	if codes := sub.subscribe(1, msgTopic(conv)); codes[0] != 1 {
		t.Fatalf("SUBSCRIBE with the in-flight delivery's id: SUBACK %v", codes)
	}
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1}, PacketID: id,
		Filters: packets.Subscriptions{{Filter: "parley/u/" + bobU.ID + "/presence"}}})
	if codes := sub.next(packets.Unsuback).ReasonCodes; len(codes) != 1 || codes[0] >= 0x80 {
		t.Fatalf("UNSUBSCRIBE with the in-flight delivery's id: UNSUBACK %v", codes)
	}
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: id,
		TopicName: sendTopic(conv), Payload: []byte(`{"body":"from bob","client_msg_id":"b-1"}`)})
	// The PUBACK, and bob's own message live (either first: the message
	// event can overtake the PUBACK).
	for got := 0; got < 2; got++ {
		select {
		case pk := <-sub.in:
			switch pk.FixedHeader.Type {
			case packets.Puback:
				if !ok(pk) || pk.PacketID != id {
					t.Fatalf("PUBLISH with the in-flight delivery's id: PUBACK %d 0x%02x", pk.PacketID, pk.ReasonCode)
				}
			case packets.Publish:
				if !strings.Contains(string(pk.Payload), `"body":"from bob"`) {
					t.Fatalf("live: %s", pk.Payload)
				}
				sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
			default:
				t.Fatalf("packet type %d", pk.FixedHeader.Type)
			}
		case <-time.After(wait):
			t.Fatal("no PUBACK or message")
		}
	}

	// Leave without acknowledging the replayed message: it is resent.
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.closed()
	sub = dial(t, addr, opts)
	again := sub.next(packets.Publish)
	if !again.FixedHeader.Dup || again.PacketID != id || string(again.Payload) != string(pub.Payload) {
		t.Fatalf("resent: dup %v id %d (want %d) %s", again.FixedHeader.Dup, again.PacketID, id, again.Payload)
	}
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id})
	sub.quiet()
}
