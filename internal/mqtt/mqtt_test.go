package mqtt_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/mqtt"
	"github.com/parley-chat/parley/internal/server"
)

// TestSameConversationOverMQTTWebSocketREST: a message sent over MQTT is
// acked after commit with its seq, reaches an MQTT subscriber and a
// WebSocket client, is in the REST history once; a resend of the same
// client_msg_id returns the original; a REST send reaches MQTT.
func TestSameConversationOverMQTTWebSocketREST(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)

	ws, err := alice.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clientID: "bob-phone", clean: true})
	if codes := sub.subscribe(1, msgTopic(conv)); codes[0] != 1 {
		t.Fatalf("SUBACK %v", codes)
	}
	pub := dial(t, mqttAddr(e), connOpts{user: "alice", pass: apitest.Password, clientID: "alice-dev", clean: true})

	ack := pub.publish(sendTopic(conv), 1, `hello from mqtt`, "c-1")
	if !ok(ack) || userProp(ack, "seq") == "" || userProp(ack, "client_msg_id") != "c-1" {
		t.Fatalf("PUBACK 0x%02x %q %v", ack.ReasonCode, ack.Properties.ReasonString, ack.Properties.User)
	}
	topic, m := sub.message()
	if topic != msgTopic(conv) || m.Body != "hello from mqtt" || m.ClientMsgID != "c-1" || userProp(ack, "seq") != itoa(m.Seq) {
		t.Fatalf("mqtt got %s %+v", topic, m)
	}
	for timeout := time.After(wait); ; {
		var ev client.Event
		select {
		case e, ok := <-ws.Events():
			if !ok {
				t.Fatal("the WebSocket session ended")
			}
			ev = e
		case <-timeout:
			t.Fatal("the WebSocket client got no message")
		}
		if ev.Message != nil && ev.Message.Body == "hello from mqtt" {
			if ev.Message.Seq != m.Seq {
				t.Fatalf("ws seq %d, mqtt %d", ev.Message.Seq, m.Seq)
			}
			break
		}
	}

	// The resend (same correlation data) returns the original; nothing new.
	again := pub.publish(sendTopic(conv), 1, `hello from mqtt`, "c-1")
	if !ok(again) || userProp(again, "seq") != itoa(m.Seq) {
		t.Fatalf("resend PUBACK 0x%02x seq %s", again.ReasonCode, userProp(again, "seq"))
	}
	// JSON payload form, client_msg_id in the payload.
	if ack := pub.publish(sendTopic(conv), 1, `{"body":"json form","client_msg_id":"c-2","reply_to":`+itoa(m.Seq)+`}`, ""); !ok(ack) {
		t.Fatalf("json PUBACK 0x%02x %q", ack.ReasonCode, ack.Properties.ReasonString)
	}
	if _, m2 := sub.message(); m2.Body != "json form" || m2.ReplyTo != m.Seq || m2.Seq != m.Seq+1 {
		t.Fatalf("json form: %+v", m2)
	}
	// REST → MQTT.
	if _, _, err := bob.Send(ctx, conv, client.SendRequest{ClientMsgID: "r-1", Body: "from rest"}); err != nil {
		t.Fatal(err)
	}
	if _, m3 := sub.message(); m3.Body != "from rest" || m3.Seq != m.Seq+2 {
		t.Fatalf("rest → mqtt: %+v", m3)
	}
	hist, err := bob.History(ctx, conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range hist {
		if h.ClientMsgID == "c-1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("c-1 stored %d times", n)
	}
	sub.quiet()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAuth: token or password of the named user; anything else is 0x86
// (MQTT 5) / 0x05 (3.1.1); a token with someone else's username is refused.
func TestAuth(t *testing.T) {
	e := start(t, nil)
	alice, _ := e.NewUser(t, "alice")
	e.NewUser(t, "bob")
	addr := mqttAddr(e)
	dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	dial(t, addr, connOpts{user: "alice", pass: apitest.Password, clean: true})
	dial(t, addr, connOpts{v: 4, user: "alice", pass: apitest.Password, clientID: "x", clean: true})
	dial(t, addr, connOpts{user: "alice", pass: "wrong password", clean: true, wantCode: 0x86})
	dial(t, addr, connOpts{v: 4, user: "alice", pass: "wrong password", clientID: "x", clean: true, wantCode: 0x05})
	dial(t, addr, connOpts{user: "bob", pass: alice.Token(), clean: true, wantCode: 0x86})
	dial(t, addr, connOpts{user: "alice", clean: true, wantCode: 0x86})
	dial(t, addr, connOpts{clean: true, wantCode: 0x86})
	dial(t, addr, connOpts{user: "nobody", pass: "whatever-password", clean: true, wantCode: 0x86})
}

// TestACL: nobody reads or posts where the app would refuse them; wildcards
// and topics outside the tree are refused (0x87); forging a message topic is
// refused; an MQTT 3.1.1 client refused a QoS 1 publish is disconnected.
func TestACL(t *testing.T) {
	e := start(t, nil)
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	carol, _ := e.NewUser(t, "carol")
	conv := group(t, alice, bobU)
	addr := mqttAddr(e)

	eve := dial(t, addr, connOpts{user: "carol", pass: carol.Token(), clean: true})
	codes := eve.subscribe(1, msgTopic(conv), "parley/c/+/m", "#", "parley/#", "$SYS/#", "parley/c/"+conv+"/send",
		"parley/u/"+bobU.ID+"/presence", "parley/c/not-an-id/m")
	for i, c := range codes {
		if c != 0x87 {
			t.Errorf("filter %d: SUBACK 0x%02x, want 0x87", i, c)
		}
	}
	if ack := eve.publish(sendTopic(conv), 1, "intrusion", "e-1"); ack.ReasonCode != 0x87 {
		t.Fatalf("non-member send: 0x%02x", ack.ReasonCode)
	}

	sub := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	forge := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	if ack := forge.publish(msgTopic(conv), 1, `{"type":"message","message":{"body":"forged"}}`, ""); ack.ReasonCode != 0x87 {
		t.Fatalf("forged publish: 0x%02x", ack.ReasonCode)
	}
	forge.publish(msgTopic(conv), 0, `forged`, "")
	if ack := forge.publish(sendTopic(conv), 1, "real", "a-1"); !ok(ack) {
		t.Fatalf("member send: 0x%02x", ack.ReasonCode)
	}
	if _, m := sub.message(); m.Body != "real" {
		t.Fatalf("bob got %+v", m)
	}
	sub.quiet()
	eve.quiet()

	v3 := dial(t, addr, connOpts{v: 4, user: "carol", pass: carol.Token(), clientID: "carol3", clean: true})
	v3.publish(sendTopic(conv), 0, "qos0 intrusion", "")
	v3.id++
	v3.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: sendTopic(conv),
		Payload: []byte("intrusion"), PacketID: v3.id})
	v3.closed()

	hist, err := bob.History(context.Background(), conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if strings.Contains(m.Body, "intrusion") || strings.Contains(m.Body, "forged") {
			t.Fatalf("stored %+v", m)
		}
	}
}

// TestMemberRemoved: a member removed from the conversation stops receiving
// at once, with the subscription still in place.
func TestMemberRemoved(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	if err := alice.RemoveMember(ctx, conv, bobU.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "x", Body: "after removal"}); err != nil {
		t.Fatal(err)
	}
	// The removal's own system message may arrive; nothing after it.
	for _, p := range sub.drain() {
		if strings.Contains(p, "after removal") {
			t.Fatal("removed member got a message")
		}
	}
}

// TestBadInput: bad payloads get PUBACK 0x99 with the Parley code in the
// reason string; a packet over the limit closes that connection only;
// others carry on.
func TestBadInput(t *testing.T) {
	e := start(t, func(c *server.Config) { c.MaxMessage = 100 })
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	addr := mqttAddr(e)
	sub := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	pub := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	for _, c := range []struct{ payload, corr, reason string }{
		{`{"body":`, "", "invalid"},
		{`{"body":"x","extra":1}`, "", "invalid"},
		{`{"client_msg_id":"a"}`, "", "invalid"},
		{`{"body":"x"} {"body":"y"}`, "", "invalid"},
		{`   `, "", "invalid"},
		{"bad \xff utf8", "", "invalid"},
		{strings.Repeat("x", 101), "", "too_large"},
		{"ok", "has space", "invalid"},
		{"ok", strings.Repeat("k", 65), "too_large"},
		{`{"body":"x","reply_to":-1}`, "", "invalid"},
	} {
		ack := pub.publish(sendTopic(conv), 1, c.payload, c.corr)
		if ack.ReasonCode != 0x99 || !strings.HasPrefix(ack.Properties.ReasonString, c.reason+":") {
			t.Errorf("%q: PUBACK 0x%02x %q", c.payload, ack.ReasonCode, ack.Properties.ReasonString)
		}
	}
	huge := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	huge.id++
	huge.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: sendTopic(conv),
		Payload: make([]byte, 1<<20), PacketID: 1})
	huge.closed()
	// Malformed bytes after CONNECT.
	junk := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	_, _ = junk.conn.Write([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f})
	junk.closed()

	if ack := pub.publish(sendTopic(conv), 1, "still fine", "ok-1"); !ok(ack) {
		t.Fatalf("after bad input: 0x%02x", ack.ReasonCode)
	}
	if _, m := sub.message(); m.Body != "still fine" {
		t.Fatalf("bob got %+v", m)
	}
}

// TestFloods: sends beyond the user's rate get 0x97 (quota exceeded);
// packets beyond the connection's rate end it with DISCONNECT 0x96; the
// other connections carry on.
func TestFloods(t *testing.T) {
	e := start(t, func(c *server.Config) { c.SendRate = 1; c.WSFrameRate = 20 })
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	addr := mqttAddr(e)
	sub := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))

	pub := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		ack := pub.publish(sendTopic(conv), 1, "flood", "f-"+itoa(int64(i)))
		limited = ack.ReasonCode == 0x97 && strings.HasPrefix(ack.Properties.ReasonString, "rate_limited:")
	}
	if !limited {
		t.Fatal("no 0x97 in a send flood")
	}

	flood := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	for i := 0; i < 200; i++ {
		flood.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	}
	if d := flood.closed(); d == nil || d.ReasonCode != 0x96 {
		t.Fatalf("flood: DISCONNECT %+v, want 0x96", d)
	}
	if got := sub.drain(); len(got) == 0 || !strings.Contains(got[0], `"body":"flood"`) {
		t.Fatalf("subscriber got %d frames", len(got))
	}
}

// TestConnectsNotRateLimited: the per-connection packet limit does not
// count CONNECT, which is read before the client has an id: many clients
// signing in at once (after a restart) are not cut off with 0x96.
func TestConnectsNotRateLimited(t *testing.T) {
	e := start(t, func(c *server.Config) { c.WSFrameRate = 2 }) // bursts of 4 packets per connection
	alice, _ := e.NewUser(t, "alice")
	addr := mqttAddr(e)
	for i := range 12 {
		c := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true, clientID: "c" + itoa(int64(i))})
		c.quiet()
	}
}

// TestPersistentSession: a session with an expiry resumes after a
// disconnection with every message it missed, in order, once, then live.
func TestPersistentSession(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	addr := mqttAddr(e)
	yes, no := true, false
	sub := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clientID: "bob-dev", expiry: 3600, wantPresent: &no})
	sub.subscribe(1, msgTopic(conv))
	send := func(id string) int64 {
		m, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: id, Body: id})
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	first := send("m0")
	if _, m := sub.message(); m.Seq != first {
		t.Fatalf("live: %+v", m)
	}
	sub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.closed()
	for i := 1; i <= 150; i++ { // more than a replay page
		send("m" + itoa(int64(i)))
	}
	sub = dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clientID: "bob-dev", expiry: 3600, wantPresent: &yes})
	go func() { _, _, _ = alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "m151", Body: "m151"}) }()
	for want := first + 1; want <= first+151; want++ {
		if _, m := sub.message(); m.Seq != want {
			t.Fatalf("resumed: seq %d, want %d", m.Seq, want)
		}
	}
	sub.quiet()

	// Another user with the same client id gets a session of their own.
	carolC, _ := e.NewUser(t, "carol")
	dial(t, addr, connOpts{user: "carol", pass: carolC.Token(), clientID: "bob-dev", expiry: 3600, wantPresent: &no})
	sub.quiet()
}

// TestSubscribeAfter: the MQTT 5 user property after=<seq> on SUBSCRIBE
// replays from the history (how a client resumes after a server restart).
func TestSubscribeAfter(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	var seqs []int64
	for i := 0; i < 3; i++ {
		m, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "a" + itoa(int64(i)), Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribeProps(1, packets.Properties{User: []packets.UserProperty{{Key: "after", Val: itoa(seqs[0])}}}, msgTopic(conv))
	for _, want := range seqs[1:] {
		if _, m := sub.message(); m.Seq != want {
			t.Fatalf("seq %d, want %d", m.Seq, want)
		}
	}
	sub.quiet()
}

// TestPresence: the presence topic of a user one shares a conversation with
// holds a retained presence frame; strangers are refused.
func TestPresence(t *testing.T) {
	e := start(t, nil)
	alice, aliceU := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	group(t, alice, bobU)
	ws, err := alice.Connect(context.Background(), client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clean: true})
	if codes := sub.subscribe(0, "parley/u/"+aliceU.ID+"/presence"); codes[0] != 0 {
		t.Fatalf("SUBACK %v", codes)
	}
	pk := sub.next(packets.Publish)
	if !strings.Contains(string(pk.Payload), `"type":"presence"`) || !strings.Contains(string(pk.Payload), `"online":true`) {
		t.Fatalf("presence %s", pk.Payload)
	}
	ws.Close()
	for deadline := time.Now().Add(wait); !strings.Contains(string(pk.Payload), `"online":false`); {
		if time.Now().After(deadline) {
			t.Fatalf("no offline presence; last %s", pk.Payload)
		}
		pk = sub.next(packets.Publish)
	}
}

// TestAcksNotRateLimited: a QoS 1 subscriber acknowledging more messages
// than the packet rate allows is not cut off (PUBACKs are not counted).
func TestAcksNotRateLimited(t *testing.T) {
	e := start(t, func(c *server.Config) { c.SendRate = 1e6; c.WSFrameRate = 2 })
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	for i := 0; i < 40; i++ {
		if _, _, err := alice.Send(context.Background(), conv, client.SendRequest{ClientMsgID: "b" + itoa(int64(i)), Body: "busy"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i++ {
		if _, m := sub.message(); m.Body != "busy" {
			t.Fatalf("got %+v", m)
		}
	}
	sub.quiet()
}

// TestQoS2Send: a QoS 2 send is stored once, acknowledged with PUBREC after
// the commit and completed with PUBCOMP; a refused one gets PUBREC 0x87.
func TestQoS2Send(t *testing.T) {
	e := start(t, nil)
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	carol, _ := e.NewUser(t, "carol")
	conv := group(t, alice, bobU)
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	pub := dial(t, mqttAddr(e), connOpts{user: "alice", pass: alice.Token(), clean: true})
	pub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, TopicName: sendTopic(conv),
		Payload: []byte(`{"body":"exactly once","client_msg_id":"q2"}`), PacketID: 7})
	if rec := pub.next(packets.Pubrec); rec.ReasonCode >= 0x80 || rec.PacketID != 7 {
		t.Fatalf("PUBREC %+v", rec)
	}
	pub.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1}, PacketID: 7})
	if comp := pub.next(packets.Pubcomp); comp.ReasonCode != 0 || comp.PacketID != 7 {
		t.Fatalf("PUBCOMP %+v", comp)
	}
	if _, m := sub.message(); m.Body != "exactly once" || m.ClientMsgID != "q2" {
		t.Fatalf("got %+v", m)
	}
	eve := dial(t, mqttAddr(e), connOpts{user: "carol", pass: carol.Token(), clean: true})
	eve.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, TopicName: sendTopic(conv),
		Payload: []byte("intrusion"), PacketID: 9})
	if rec := eve.next(packets.Pubrec); rec.ReasonCode != 0x87 {
		t.Fatalf("refused PUBREC 0x%02x", rec.ReasonCode)
	}
	sub.quiet()
}

// TestRevokedSession: signing out disconnects the session's MQTT
// connections with DISCONNECT 0x87; the token no longer signs in.
func TestRevokedSession(t *testing.T) {
	e := start(t, nil)
	bob, _ := e.NewUser(t, "bob")
	tok := bob.Token()
	c := dial(t, mqttAddr(e), connOpts{user: "bob", pass: tok, clean: true})
	if err := bob.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := c.closed(); d == nil || d.ReasonCode != 0x87 {
		t.Fatalf("DISCONNECT %+v, want 0x87", d)
	}
	dial(t, mqttAddr(e), connOpts{user: "bob", pass: tok, clean: true, wantCode: 0x86})
}

// TestLostEventReplayed: a message whose bus event never arrived is
// replayed from the history before the next one — order kept, nothing
// lost, nothing twice.
func TestLostEventReplayed(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	sub := dial(t, mqttAddr(e), connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	mqtt.LoseEvents(e.Server.MQTT, 2)
	var seqs []int64
	for i := 0; i < 4; i++ {
		m, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "l" + itoa(int64(i)), Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	// The first two events were lost; the third shows the gap, and the
	// replay delivers 1, 2, 3 before 4 goes live.
	for _, want := range seqs {
		if _, m := sub.message(); m.Seq != want {
			t.Fatalf("seq %d, want %d", m.Seq, want)
		}
	}
	sub.quiet()
}
