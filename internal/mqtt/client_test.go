package mqtt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// rawClient is a minimal MQTT client over mochi's packet codec, so tests see
// every reason code the server sends.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	v    byte
	id   uint16
	in   chan packets.Packet // closed when the connection ends
	err  error               // why it ended; read once in is closed

	stalled atomic.Bool                   // stop reading (stall)
	paused  atomic.Pointer[chan struct{}] // reading waits until it closes (pause, unpause)

	connack packets.Packet
}

// start starts an in-process server with the MQTT gateway on 127.0.0.1:0.
func start(t testing.TB, configure func(*server.Config)) *apitest.Env {
	t.Helper()
	return apitest.Start(t, func(c *server.Config) {
		c.MQTT = "127.0.0.1:0"
		// Tests send bursts (151 messages in TestPersistentSession), faster
		// than the default per-user rate on a quiet machine; the rate-limit
		// tests set their own.
		c.SendRate = 1e6
		if configure != nil {
			configure(c)
		}
	})
}

func mqttAddr(e *apitest.Env) string { return e.Server.MQTT.Addr() }

type connOpts struct {
	v           byte // 4 (3.1.1) or 5
	user, pass  string
	clientID    string
	clean       bool
	expiry      uint32 // MQTT 5 session expiry interval
	wantCode    byte
	wantPresent *bool
	will        *will // a last will and testament in the CONNECT
	anyCode     bool  // accept any CONNACK reason code (the caller reads rawClient.connack)
	noKeepalive bool  // keepalive 0: the server bounds no read by a keepalive
	readBuffer  int   // the socket's receive buffer (0: the system's)
}

// will is the Will of a CONNECT.
type will struct {
	topic, payload string
	qos            byte
	retain         bool
}

// dial connects and checks the CONNACK's reason code (o.wantCode); the
// client is closed when the test ends.
func dial(t testing.TB, addr string, o connOpts) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if o.readBuffer > 0 {
		if err := conn.(*net.TCPConn).SetReadBuffer(o.readBuffer); err != nil {
			t.Fatal(err)
		}
	}
	if o.v == 0 {
		o.v = 5
	}
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn), v: o.v, in: make(chan packets.Packet, 1000)}
	keepalive := uint16(60)
	if o.noKeepalive {
		keepalive = 0
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: o.v,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: o.clientID, Clean: o.clean,
			Keepalive: keepalive, Username: []byte(o.user), UsernameFlag: o.user != "", Password: []byte(o.pass), PasswordFlag: o.pass != ""}}
	if o.expiry > 0 {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = o.expiry, true
	}
	if w := o.will; w != nil {
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, w.topic, []byte(w.payload)
		pk.Connect.WillQos, pk.Connect.WillRetain = w.qos, w.retain
	}
	c.write(pk)
	go c.readLoop()
	ack := c.next(packets.Connack)
	c.connack = ack
	if ack.ReasonCode != o.wantCode && !o.anyCode {
		t.Fatalf("CONNACK reason 0x%02x, want 0x%02x (%s)", ack.ReasonCode, o.wantCode, ack.Properties.ReasonString)
	}
	if o.wantPresent != nil && ack.SessionPresent != *o.wantPresent {
		t.Fatalf("session present %v, want %v", ack.SessionPresent, *o.wantPresent)
	}
	return c
}

func (c *rawClient) write(pk packets.Packet) {
	c.t.Helper()
	pk.ProtocolVersion = c.v
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pubrel:
		err = pk.PubrelEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		err = pk.UnsubscribeEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait)) // a server that stops reading fails the test
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		c.t.Logf("write: %v", err)
	}
}

// readLoop reads packets into c.in until the connection ends, then sets
// c.err and closes c.in: any number of readers, in any test of a fuzz
// target sharing the client, see the end and its cause without blocking.
func (c *rawClient) readLoop() {
	var err error
	defer func() { c.err = err; close(c.in) }()
	for {
		if c.stalled.Load() {
			err = errStalled
			return
		}
		if p := c.paused.Load(); p != nil {
			<-*p
		}
		var hb byte
		if hb, err = c.r.ReadByte(); err != nil {
			return
		}
		var fh packets.FixedHeader
		if err = fh.Decode(hb); err != nil {
			return
		}
		var n int
		if n, _, err = packets.DecodeLength(c.r); err != nil {
			return
		}
		fh.Remaining = n
		b := make([]byte, n)
		if _, err = io.ReadFull(c.r, b); err != nil {
			return
		}
		pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.v}
		switch fh.Type {
		case packets.Connack:
			err = pk.ConnackDecode(b)
		case packets.Publish:
			err = pk.PublishDecode(b)
		case packets.Puback:
			err = pk.PubackDecode(b)
		case packets.Pubrec:
			err = pk.PubrecDecode(b)
		case packets.Pubcomp:
			err = pk.PubcompDecode(b)
		case packets.Suback:
			err = pk.SubackDecode(b)
		case packets.Unsuback:
			err = pk.UnsubackDecode(b)
		case packets.Disconnect:
			err = pk.DisconnectDecode(b)
		}
		if err != nil {
			return
		}
		c.in <- pk
	}
}

const wait = 20 * time.Second // a hang guard, not a timing assertion

var errStalled = errors.New("stalled: the client stopped reading")

// stall makes the client stop reading its connection (after the packet
// being read), as a client whose application hangs; the connection stays
// open.
func (c *rawClient) stall() { c.stalled.Store(true) }

// pause makes the client stop reading (after the packet being read) until
// unpause.
func (c *rawClient) pause() {
	ch := make(chan struct{})
	c.paused.Store(&ch)
}

func (c *rawClient) unpause() {
	if p := c.paused.Swap(nil); p != nil {
		close(*p)
	}
}

// next returns the next packet, which must be of type typ (QoS 1 publishes
// it skips over are acknowledged and kept for nextMessage? no: it fails).
func (c *rawClient) next(typ byte) packets.Packet {
	c.t.Helper()
	select {
	case pk, ok := <-c.in:
		if !ok {
			c.t.Fatalf("connection closed while waiting for packet type %d: %v", typ, c.err)
		}
		if pk.FixedHeader.Type != typ {
			c.t.Fatalf("got packet type %d (reason 0x%02x %q), want %d", pk.FixedHeader.Type, pk.ReasonCode, pk.Properties.ReasonString, typ)
		}
		return pk
	case <-time.After(wait):
		c.t.Fatalf("no packet of type %d", typ)
	}
	return packets.Packet{}
}

// closed waits for the server to close the connection and returns the
// DISCONNECT it sent first, if any.
func (c *rawClient) closed() *packets.Packet {
	c.t.Helper()
	var last *packets.Packet
	timeout := time.After(wait)
	for {
		select {
		case pk, ok := <-c.in:
			if !ok {
				return last
			}
			if pk.FixedHeader.Type == packets.Disconnect {
				last = &pk
			}
		case <-timeout:
			c.t.Fatal("connection not closed")
		}
	}
}

// quiet checks that nothing arrives before a ping's answer.
func (c *rawClient) quiet() {
	c.t.Helper()
	c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	c.next(packets.Pingresp)
}

// drain returns the payloads of the publishes that arrive before a ping's
// answer (acknowledging QoS 1).
func (c *rawClient) drain() []string {
	c.t.Helper()
	c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	var out []string
	for {
		select {
		case pk, ok := <-c.in:
			if !ok {
				c.t.Fatalf("connection closed: %v", c.err)
			}
			switch pk.FixedHeader.Type {
			case packets.Pingresp:
				return out
			case packets.Publish:
				if pk.FixedHeader.Qos == 1 {
					c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
				}
				out = append(out, string(pk.Payload))
			default:
				c.t.Fatalf("unexpected packet type %d", pk.FixedHeader.Type)
			}
		case <-time.After(wait):
			c.t.Fatal("no PINGRESP")
		}
	}
}

// ok reports a successful PUBACK (0x00).
func ok(ack packets.Packet) bool { return ack.ReasonCode == 0 }

func (c *rawClient) subscribe(qos byte, filters ...string) []byte {
	c.t.Helper()
	return c.subscribeProps(qos, packets.Properties{}, filters...)
}

func (c *rawClient) subscribeProps(qos byte, props packets.Properties, filters ...string) []byte {
	c.t.Helper()
	c.id++
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: c.id, Properties: props}
	for _, f := range filters {
		pk.Filters = append(pk.Filters, packets.Subscription{Filter: f, Qos: qos})
	}
	c.write(pk)
	return c.next(packets.Suback).ReasonCodes
}

// publish sends a publish; for QoS 1 it returns the PUBACK.
func (c *rawClient) publish(topic string, qos byte, payload string, corr string) packets.Packet {
	c.t.Helper()
	c.id++
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, TopicName: topic,
		Payload: []byte(payload), PacketID: c.id}
	if corr != "" {
		pk.Properties.CorrelationData = []byte(corr)
		pk.Mods.AllowResponseInfo = true // mochi's encoder writes correlation data only then
	}
	if qos == 0 {
		pk.PacketID = 0
	}
	c.write(pk)
	if qos == 0 {
		return packets.Packet{}
	}
	return c.next(packets.Puback)
}

// message reads the next message frame (acknowledging QoS 1).
func (c *rawClient) message() (string, parley.Message) {
	c.t.Helper()
	pk := c.next(packets.Publish)
	if pk.FixedHeader.Qos == 1 {
		c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
	}
	var f struct {
		Type    string         `json:"type"`
		Message parley.Message `json:"message"`
	}
	if err := json.Unmarshal(pk.Payload, &f); err != nil {
		c.t.Fatalf("frame %q: %v", pk.Payload, err)
	}
	return pk.TopicName, f.Message
}

func userProp(pk packets.Packet, key string) string {
	for _, p := range pk.Properties.User {
		if p.Key == key {
			return p.Val
		}
	}
	return ""
}

// group creates a group of owner with the members and returns its id.
func group(t testing.TB, owner *client.Client, members ...parley.User) string {
	t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	c, _, err := owner.CreateConversation(context.Background(), client.CreateConversationRequest{
		Kind: parley.KindGroup, Title: "mqtt", MemberIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func sendTopic(conv string) string { return fmt.Sprintf("parley/c/%s/send", conv) }
func msgTopic(conv string) string  { return fmt.Sprintf("parley/c/%s/m", conv) }
