package mqtt_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/server"
)

// FuzzPackets writes arbitrary bytes after a valid CONNECT on one live
// gateway: whatever they are, the server keeps serving — a member's send
// right after is acknowledged and delivered, and nothing of the
// conversation reaches the fuzzing connection (which is not a member).
func FuzzPackets(f *testing.F) {
	// Not apitest.Start: its logger writes through the *testing.F, which
	// the fuzz engine forbids inside the target.
	cfg := server.Default()
	cfg.Addr, cfg.MQTT, cfg.DataDir, cfg.LogLevel = "127.0.0.1:0", "127.0.0.1:0", f.TempDir(), "error"
	cfg.PasswordParams = app.FastPasswordParams()
	cfg.WSFrameRate, cfg.SendRate = 1e6, 1e6
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	f.Cleanup(func() { cancel(); <-done })
	e := &apitest.Env{T: f, Server: srv, URL: srv.URL(), Config: cfg}
	alice, _ := e.NewUser(f, "alice")
	bob, bobU := e.NewUser(f, "bob")
	carol, _ := e.NewUser(f, "carol")
	conv := group(f, alice, bobU)
	addr := mqttAddr(e)
	sub := dial(f, addr, connOpts{user: "bob", pass: bob.Token(), clean: true})
	sub.subscribe(1, msgTopic(conv))
	pub := dial(f, addr, connOpts{user: "alice", pass: alice.Token(), clean: true})

	var connect bytes.Buffer
	ck := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 5,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 60,
			Username: []byte("carol"), UsernameFlag: true, Password: []byte(carol.Token()), PasswordFlag: true}}
	if err := ck.ConnectEncode(&connect); err != nil {
		f.Fatal(err)
	}
	enc := func(pk packets.Packet) []byte {
		var b bytes.Buffer
		pk.ProtocolVersion = 5
		switch pk.FixedHeader.Type {
		case packets.Publish:
			_ = pk.PublishEncode(&b)
		case packets.Subscribe:
			_ = pk.SubscribeEncode(&b)
		}
		return b.Bytes()
	}
	f.Add(enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1,
		TopicName: sendTopic(conv), Payload: []byte(`{"body":"x"}`)}))
	f.Add(enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: "parley/c/+/m", Qos: 1}, {Filter: msgTopic(conv), Qos: 1}, {Filter: "#"}}}))
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0x82, 0x02, 0x00})
	f.Add(connect.Bytes())

	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		pub.t, sub.t = t, t
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write(connect.Bytes())
		_, _ = conn.Write(data)
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var got bytes.Buffer
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			got.Write(buf[:k])
			if err != nil {
				break
			}
		}
		n++
		body := "after fuzz " + itoa(int64(n))
		if ack := pub.publish(sendTopic(conv), 1, body, ""); ack.ReasonCode != 0 {
			t.Fatalf("send after fuzz input: 0x%02x %s", ack.ReasonCode, ack.Properties.ReasonString)
		}
		if _, m := sub.message(); m.Body != body {
			t.Fatalf("bob got %+v", m)
		}
		if strings.Contains(got.String(), `"type":"message"`) {
			t.Fatalf("non-member connection received a message frame: %q", got.String())
		}
	})
}
