package mqtt_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/mqtt"
	"github.com/parley-chat/parley/internal/server"
)

// TestStopWithSilentConnection: the server stops while connections are
// open that sent nothing, or half a CONNECT. mochi reads a CONNECT with no
// deadline and has not registered the client yet, so its Close, which
// waits for every connection's goroutine, would wait as long as the peer
// keeps the connection open: Close ends them.
func TestStopWithSilentConnection(t *testing.T) {
	e := start(t, nil)
	alice, _ := e.NewUser(t, "alice")
	addr := mqttAddr(e)
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = half.Close() })
	if _, err := half.Write([]byte{0x10, 0x20, 0x00}); err != nil { // CONNECT, 32 bytes to come, 1 sent
		t.Fatal(err)
	}
	// Accepted after the two: once it is in, the broker is reading them.
	dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})

	stopped := make(chan struct{})
	go func() { e.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("the server did not stop while connections had not sent their CONNECT")
	}
	for _, c := range []net.Conn{silent, half} {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the server left a connection open: %v", err)
		}
	}
}

// TestStalledReader: a QoS 1 subscriber that stops reading (keepalive 0, so
// no keepalive ends it either) is disconnected once a write to it makes no
// progress for the write timeout. Until then mochi holds its client lock
// in the write, and a delivery to it waits for that lock with hook.mu
// held: without the bound, every other subscriber would stop receiving for
// good, and the server could not stop (its bus subscription waits for the
// delivery in progress).
func TestStalledReader(t *testing.T) {
	const body = 20000 // characters; the stalled socket's buffers (4 KiB each end) fill within a few messages
	ctx := context.Background()
	alice, conv, stalled, live := slowReader(t, body, time.Second)
	stalled.stall()
	text := strings.Repeat("x", body)
	for i := 0; i < 20; i++ {
		if _, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "s" + itoa(int64(i)), Body: text}); err != nil {
			t.Fatal(err)
		}
		if _, m := live.message(); m.Body != text {
			t.Fatalf("carol got %.40q", m.Body)
		}
	}
	// The server ended the stalled connection (what it had sent reads out
	// first).
	for range stalled.in { // the read loop is done with stalled.r
	}
	_ = stalled.conn.SetReadDeadline(time.Now().Add(wait))
	for buf := make([]byte, 1<<16); ; {
		if _, err := stalled.r.Read(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the stalled connection is still open")
			}
			break
		}
	}
}

// TestTakeoverWhileOldConnectionEnds: a clean-session client reconnects
// with its client id while its old connection is still being torn down.
// mochi's teardown checks whether the id was taken over, then deletes the
// id from its registry: a takeover between the two removed the new
// connection, which stayed open and subscribed but received nothing. The
// test holds the old connection's teardown between the two (in its
// unsubscribe) while the new one connects and subscribes.
func TestTakeoverWhileOldConnectionEnds(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	addr := mqttAddr(e)
	old := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clientID: "phone", clean: true})
	old.subscribe(1, msgTopic(conv))

	entered, release := mqtt.HoldTeardown(e.Server.MQTT, "phone")
	t.Cleanup(release) // before the server stops (cleanups run last first)
	_ = old.conn.Close()
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("the old connection's teardown did not reach its unsubscribe")
	}
	fresh := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clientID: "phone", clean: true})
	fresh.subscribe(1, msgTopic(conv))
	release()
	for deadline := time.Now().Add(wait); mqtt.OpenConns(e.Server.MQTT) > 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the old connection's goroutine did not end")
		}
	}
	if _, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "after", Body: "still there?"}); err != nil {
		t.Fatal(err)
	}
	if _, m := fresh.message(); m.Body != "still there?" {
		t.Fatalf("the new connection got %q", m.Body)
	}
}

// TestPausedReaderCatchesUp: a QoS 1 subscriber stops reading for a while
// (its write timeout far away, so the server keeps it): the others keep
// receiving meanwhile, and once it reads again it gets every message it
// missed, in order, once. Before, numbering a delivery to it waited for the
// write in progress to it, holding every delivery of the node until that
// write timed out.
func TestPausedReaderCatchesUp(t *testing.T) {
	const body, n = 6000, 20 // characters; 4 KiB socket buffers fill within a few messages
	ctx := context.Background()
	alice, conv, paused, live := slowReader(t, body, time.Hour)
	paused.pause()
	text := strings.Repeat("x", body)
	var seqs []int64
	for i := 0; i < n; i++ {
		sent, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "s" + itoa(int64(i)), Body: text})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, sent.Seq)
		if _, m := live.message(); m.Body != text || m.Seq != sent.Seq {
			t.Fatalf("carol got seq %d %.40q, want seq %d", m.Seq, m.Body, sent.Seq)
		}
	}
	paused.unpause()
	for i, seq := range seqs {
		if _, m := paused.message(); m.Seq != seq {
			t.Fatalf("bob's message %d has seq %d, want %d: every message once, in order", i, m.Seq, seq)
		}
	}
	paused.quiet()
}

// slowReader starts a server whose writes to a client are bounded by
// writeTimeout, with 4 KiB socket buffers, and a group of alice, bob and
// carol: slow is bob's QoS 1 subscription (keepalive 0, a 4 KiB receive
// buffer), live is carol's; alice sends messages of up to body characters.
func slowReader(t *testing.T, body int, writeTimeout time.Duration) (alice *client.Client, conv string, slow, live *rawClient) {
	t.Helper()
	e := start(t, func(c *server.Config) { c.MaxMessage = body })
	mqtt.SetWriteTimeout(e.Server.MQTT, writeTimeout)
	mqtt.SetSendBuffer(e.Server.MQTT, 4096)
	alice, _ = e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	carol, carolU := e.NewUser(t, "carol")
	conv = group(t, alice, bobU, carolU)
	addr := mqttAddr(e)
	slow = dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clean: true, noKeepalive: true, readBuffer: 4096})
	slow.subscribe(1, msgTopic(conv))
	live = dial(t, addr, connOpts{user: "carol", pass: carol.Token(), clean: true})
	live.subscribe(1, msgTopic(conv))
	return alice, conv, slow, live
}

// TestPausedReaderGetsPresence: a presence change that happens while a QoS 1
// subscriber is not reading reaches it once it reads again (as the user's
// current presence), with the messages it missed.
func TestPausedReaderGetsPresence(t *testing.T) {
	const body, n = 6000, 10
	e := start(t, func(c *server.Config) { c.MaxMessage = body })
	mqtt.SetWriteTimeout(e.Server.MQTT, time.Hour)
	mqtt.SetSendBuffer(e.Server.MQTT, 4096)
	ctx := context.Background()
	alice, _ := e.NewUser(t, "alice")
	bob, bobU := e.NewUser(t, "bob")
	carol, carolU := e.NewUser(t, "carol")
	conv := group(t, alice, bobU, carolU)
	ws, err := carol.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	addr := mqttAddr(e)
	watch := func(c *rawClient) {
		c.subscribe(1, msgTopic(conv), presTopic(carolU.ID))
		pk := c.next(packets.Publish)
		if !strings.Contains(string(pk.Payload), `"online":true`) {
			t.Fatalf("retained presence %s", pk.Payload)
		}
		if pk.FixedHeader.Qos == 1 {
			c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
		}
	}
	paused := dial(t, addr, connOpts{user: "bob", pass: bob.Token(), clean: true, noKeepalive: true, readBuffer: 4096})
	watch(paused)
	paused.pause()
	live := dial(t, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})
	watch(live)
	text := strings.Repeat("x", body)
	for i := 0; i < n; i++ { // fills the paused reader's buffers
		if _, _, err := alice.Send(ctx, conv, client.SendRequest{ClientMsgID: "p" + itoa(int64(i)), Body: text}); err != nil {
			t.Fatal(err)
		}
		if _, m := live.message(); m.Body != text {
			t.Fatalf("alice got %.40q", m.Body)
		}
	}
	ws.Close()
	untilOffline(live, carolU.ID)

	paused.unpause()
	msgs, offline := 0, false
	for deadline := time.Now().Add(wait); msgs < n || !offline; {
		if time.Now().After(deadline) {
			t.Fatalf("after resuming: %d of %d messages, offline presence %v", msgs, n, offline)
		}
		pk := paused.next(packets.Publish)
		if pk.FixedHeader.Qos == 1 {
			paused.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
		}
		switch pk.TopicName {
		case msgTopic(conv):
			msgs++
		case presTopic(carolU.ID):
			offline = strings.Contains(string(pk.Payload), `"online":false`)
		}
	}
}
