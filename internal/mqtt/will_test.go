package mqtt_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley/internal/mqtt"
)

func presTopic(userID string) string { return "parley/u/" + userID + "/presence" }

// TestWillRefused: a CONNECT carrying a Will is refused (0x87 not
// authorized in MQTT 5, 0x05 in 3.1.1), whatever its topic: a will would be
// published by the broker when the connection drops, past the send path, so
// a client could forge a message frame in a conversation (its own or not)
// or a retained presence frame. Checked end to end: after each attempt (and
// the attacker's connection cut without DISCONNECT, if it was let in) the
// subscriber of every targeted topic has received nothing forged, and no
// forged message is retained. The second guard (OnWill) is checked the same
// way with the first one switched off.
func TestWillRefused(t *testing.T) {
	e := start(t, nil)
	alice, aliceU := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	carol, carolU := e.NewUser(t, "carol")
	foreign := group(t, alice, bobU) // carol is not a member
	own := group(t, carol, bobU)     // carol is a member
	addr := mqttAddr(e)

	sub := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clean: true})
	if codes := sub.subscribe(1, msgTopic(foreign), msgTopic(own), presTopic(aliceU.ID), presTopic(carolU.ID)); len(codes) != 4 || codes[0] != 1 || codes[1] != 1 || codes[2] != 1 || codes[3] != 1 {
		t.Fatalf("SUBACK %v", codes)
	}
	sub.drain() // the retained presence frames

	forgedMsg := func(conv string) string {
		return `{"type":"message","message":{"id":"forged","conversation_id":"` + conv + `","seq":1000,"sender_id":"` +
			aliceU.ID + `","client_msg_id":"forged","kind":"user","body":"forged","created_at":"2025-01-01T00:00:00Z"}}`
	}
	targets := []struct {
		name string
		will will
	}{
		{"own conversation", will{topic: msgTopic(own), payload: forgedMsg(own), qos: 1}},
		{"foreign conversation", will{topic: msgTopic(foreign), payload: forgedMsg(foreign), qos: 1}},
		{"foreign conversation retained", will{topic: msgTopic(foreign), payload: forgedMsg(foreign), qos: 1, retain: true}},
		{"another user's presence, retained", will{topic: presTopic(aliceU.ID), payload: `{"type":"presence","user_id":"` + aliceU.ID + `","online":false,"forged":true}`, retain: true}},
		{"send topic", will{topic: sendTopic(own), payload: "forged send", qos: 1}},
		{"outside the tree", will{topic: "forged/anything", payload: "forged"}},
	}
	// OnConnect refuses the will; with that check off (a test switch), the
	// second guard, OnWill, must make the will harmless.
	for _, guard := range []string{"OnConnect", "OnWill"} {
		mqtt.AllowWills(e.Server.MQTT, guard == "OnWill")
		for _, v := range []byte{5, 4} {
			for _, tc := range targets {
				w := tc.will
				c := dial(t, addr, connOpts{v: v, user: "carol", pass: carol.Token(), clientID: "carol-will", clean: true, will: &w, anyCode: true})
				want := byte(0x87)
				if v == 4 {
					want = 0x05
				}
				if guard == "OnWill" {
					want = 0
				}
				if code := c.connack.ReasonCode; code != want {
					t.Errorf("%s v%d %s: CONNACK 0x%02x, want 0x%02x", guard, v, tc.name, code, want)
				}
				var got []string
				if c.connack.ReasonCode == 0 {
					// Let in: drop the connection without DISCONNECT, so the
					// broker publishes the will, then wait for carol's
					// offline presence, which is published after it.
					_ = c.conn.Close()
					got = untilOffline(sub, carolU.ID)
				}
				got = append(got, sub.drain()...)
				for _, p := range got {
					if strings.Contains(p, "forged") {
						t.Errorf("%s v%d %s: bob received %s", guard, v, tc.name, p)
					}
				}
			}
		}

		// A later subscriber gets the server's presence, not a forged one,
		// and nothing at all on a message topic.
		late := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clientID: "bob-late-" + guard, clean: true})
		late.subscribe(1, msgTopic(foreign), msgTopic(own), presTopic(aliceU.ID))
		lateOnlyPresence(t, late)
		checkRetained(t, e.Server.MQTT)
	}
}

// lateOnlyPresence: the retained messages a subscriber of message topics
// and then a presence topic gets are the presence frame alone. (Retained
// messages are queued after the SUBACK in the order of the filters, and may
// be written after the answer to a later PINGREQ: hence next, not drain.)
func lateOnlyPresence(t *testing.T, c *rawClient) {
	t.Helper()
	if p := string(c.next(packets.Publish).Payload); strings.Contains(p, "forged") || !strings.HasPrefix(p, `{"type":"presence"`) {
		t.Errorf("late subscriber got %s, want the presence frame", p)
	}
	for _, p := range c.drain() {
		t.Errorf("late subscriber got %s", p)
	}
}

// untilOffline reads c's publishes (acknowledging QoS 1) up to the presence
// frame saying userID went offline, and returns their payloads.
func untilOffline(c *rawClient, userID string) []string {
	c.t.Helper()
	var out []string
	for deadline := time.Now().Add(wait); ; {
		if time.Now().After(deadline) {
			c.t.Fatalf("no offline presence for %s; got %q", userID, out)
		}
		pk := c.next(packets.Publish)
		if pk.FixedHeader.Qos == 1 {
			c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
		}
		p := string(pk.Payload)
		out = append(out, p)
		if pk.TopicName == presTopic(userID) && strings.Contains(p, `"online":false`) && !strings.Contains(p, "forged") {
			return out
		}
	}
}

// checkRetained: the broker retains presence frames only, all of them
// server-made (and mochi's own $SYS topics, which no client may read).
func checkRetained(t *testing.T, s *mqtt.Server) {
	t.Helper()
	for topic, p := range mqtt.Retained(s) {
		if strings.HasPrefix(topic, "$SYS/") {
			continue
		}
		if !strings.HasPrefix(topic, "parley/u/") || !strings.HasSuffix(topic, "/presence") || strings.Contains(p, "forged") ||
			!strings.HasPrefix(p, `{"type":"presence"`) {
			t.Errorf("retained on %s: %s", topic, p)
		}
	}
}

// TestRetainedPublishNotStored: a client's PUBLISH with the retain flag is
// never retained nor served to later subscribers: on a send topic it is a
// send like any other (stored as a message, delivered once as the app's
// event), on any other topic it is refused.
func TestRetainedPublishNotStored(t *testing.T) {
	e := start(t, nil)
	_, aliceU := e.NewUser(t, "alice")
	carol, _ := e.NewUser(t, "carol")
	conv := group(t, carol, aliceU)
	addr := mqttAddr(e)
	for _, v := range []byte{5, 4} {
		c := dial(t, addr, connOpts{v: v, user: "carol", pass: carol.Token(), clientID: "carol-retain", clean: true})
		pub := func(topic string, qos byte, payload string) {
			c.id++
			c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: true},
				TopicName: topic, Payload: []byte(payload), PacketID: map[bool]uint16{true: c.id}[qos > 0]})
			switch qos {
			case 1:
				c.next(packets.Puback)
			case 2:
				c.next(packets.Pubrec)
				c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1}, PacketID: c.id})
				c.next(packets.Pubcomp)
			}
		}
		for qos := byte(0); qos <= 2; qos++ {
			pub(sendTopic(conv), qos, `{"body":"retained send","client_msg_id":"r-`+string('0'+v)+string('0'+qos)+`"}`)
		}
		if v == 5 { // a refused QoS ≥ 1 publish ends a 3.1.1 connection
			pub(msgTopic(conv), 1, "forged retained")
			pub(presTopic(aliceU.ID), 1, "forged retained")
			pub(presTopic(aliceU.ID), 1, "") // an empty retained publish would clear the topic's retained message
		}
		pub(msgTopic(conv), 0, "forged retained")
		pub(presTopic(aliceU.ID), 0, "forged retained")
		pub("forged/topic", 0, "forged retained")
		c.quiet()
	}
	late := dial(t, addr, connOpts{user: "carol", pass: carol.Token(), clientID: "carol-late", clean: true})
	late.subscribe(1, msgTopic(conv), presTopic(aliceU.ID))
	lateOnlyPresence(t, late)
	checkRetained(t, e.Server.MQTT)
}
