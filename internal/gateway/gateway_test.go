package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley"
)

// tcpPair returns the two ends of a real loopback TCP connection.
func tcpPair(tb testing.TB, ln net.Listener) (server, client net.Conn) {
	tb.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server = <-ch
	if server == nil {
		tb.Fatal("accept failed")
	}
	return server, client
}

func listen(tb testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}

// attach registers an authenticated connection on server-side nc for user,
// subscribed to topics, without the WebSocket handshake (the hub and the
// writers are what these tests exercise).
func attach(g *Gateway, nc net.Conn, user string, topics ...string) *Conn {
	c := newConn(g, nc, nil)
	c.actor = parley.Actor{UserID: user, SessionID: "s-" + user}
	g.hub.addConn(c)
	g.hub.addUser(c)
	for _, t := range topics {
		c.subscribe(t)
	}
	return c
}

// detach is the hub side of teardown.
func detach(g *Gateway, c *Conn) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.unsubscribeAll()
	g.hub.removeUser(c)
	g.hub.removeConn(c)
}

// reader drains a client socket, parsing server frames, counting them.
type reader struct {
	frames atomic.Int64
	bytes  atomic.Int64
	mu     sync.Mutex
	got    [][]byte
	keep   bool
	closed chan int // close code, when a close frame arrives
}

func readAll(nc net.Conn, keep bool) *reader {
	r := &reader{keep: keep, closed: make(chan int, 1)}
	go func() {
		// Allocation-free unless keep, so that benchmarks count the server's.
		br := bufio.NewReaderSize(nc, 64<<10)
		hb := make([]byte, ws.MaxHeaderSize)
		buf := make([]byte, 64<<10)
		for {
			h, err := ws.ReadHeaderBuffer(br, hb)
			if err != nil {
				return
			}
			if h.Length > int64(len(buf)) {
				buf = make([]byte, h.Length)
			}
			p := buf[:h.Length]
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			if r.keep {
				p = append([]byte(nil), p...)
			}
			if h.OpCode == ws.OpClose {
				code, _ := ws.ParseCloseFrameData(p)
				r.closed <- int(code)
				return
			}
			if r.keep {
				r.mu.Lock()
				r.got = append(r.got, p)
				r.mu.Unlock()
			}
			r.bytes.Add(int64(len(p)))
			r.frames.Add(1)
		}
	}()
	return r
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second) // liveness bound only
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRoutingAndEncodeOnce(t *testing.T) {
	g := New(nil, nil, nil, Config{})
	defer g.Close()
	ln := listen(t)
	var readers []*reader
	var conns []*Conn
	for i := 0; i < 5; i++ {
		s, c := tcpPair(t, ln)
		defer c.Close()
		topics := []string{"conv-a"}
		if i >= 3 {
			topics = []string{"conv-b"}
		}
		conns = append(conns, attach(g, s, fmt.Sprint("user", i%4), topics...))
		readers = append(readers, readAll(c, true))
	}
	frame := []byte(`{"type":"message","n":1}`)
	g.HandleEvent(parley.Event{Kind: parley.EventMessage, ConversationID: "conv-a", Frame: frame})
	// Conversation subscribers (conns 0-2) get it once; users listed in
	// UserIDs get it on their other connections (conn 3 of user3, conn 4 of
	// user0) but never twice (conn 0 of user0 is subscribed).
	g.HandleEvent(parley.Event{Kind: parley.EventPresence, UserIDs: []string{"user3", "user0"}, ConversationID: "conv-a",
		Frame: []byte(`{"type":"x"}`)})
	want := []int64{2, 2, 2, 1, 1}
	for i, r := range readers {
		waitFor(t, fmt.Sprintf("conn %d frames", i), func() bool { return r.frames.Load() >= want[i] })
	}
	time.Sleep(20 * time.Millisecond)
	for i, r := range readers {
		if n := r.frames.Load(); n != want[i] {
			t.Errorf("conn %d got %d frames, want %d", i, n, want[i])
		}
	}
	if !bytes.Equal(readers[0].got[0], frame) {
		t.Errorf("frame altered: %q", readers[0].got[0])
	}

	// Join subscribes before delivery; Leave unsubscribes after.
	g.HandleEvent(parley.Event{Kind: parley.EventMemberJoined, ConversationID: "conv-c", Join: []string{"user1"},
		Frame: []byte(`{"type":"member_joined"}`)})
	waitFor(t, "join frame", func() bool { return readers[1].frames.Load() == 3 })
	g.HandleEvent(parley.Event{Kind: parley.EventMemberLeft, ConversationID: "conv-c", Leave: []string{"user1"},
		Frame: []byte(`{"type":"member_left"}`)})
	waitFor(t, "leave frame", func() bool { return readers[1].frames.Load() == 4 })
	if g.hub.topicSize("conv-c") != 0 {
		t.Error("user1 still subscribed after leaving")
	}
	for _, c := range conns {
		detach(g, c)
	}
	for i := range g.hub.shards {
		s := &g.hub.shards[i]
		if len(s.topics)+len(s.users)+len(s.all) != 0 {
			t.Fatalf("hub not empty after every connection left: %v %v %v", s.topics, s.users, s.all)
		}
	}
}

func TestSlowConsumerDoesNotBlockOthers(t *testing.T) {
	g := New(nil, nil, nil, Config{QueueFrames: 64, QueueBytes: 1 << 20, Writers: 1})
	defer g.Close()
	ln := listen(t)
	sSlow, cSlow := tcpPair(t, ln)
	defer cSlow.Close()
	_ = cSlow.(*net.TCPConn).SetReadBuffer(4096)
	slow := attach(g, sSlow, "slow", "room")
	sFast, cFast := tcpPair(t, ln)
	defer cFast.Close()
	attach(g, sFast, "fast", "room")
	fast := readAll(cFast, false)

	frame := []byte(`{"type":"message","body":"` + strings.Repeat("x", 4000) + `"}`)
	const n = 3000
	for i := 0; i < n; i++ {
		g.HandleEvent(parley.Event{Kind: parley.EventMessage, ConversationID: "room", Frame: frame})
		// Let the fast reader keep up, as a live client would.
		waitFor(t, "fast reader", func() bool { return fast.frames.Load() >= int64(i-32) })
	}
	waitFor(t, "fast reader to get everything", func() bool { return fast.frames.Load() == n })
	if !slow.isClosed() {
		t.Fatal("the client that never reads was not disconnected")
	}
	if g.hub.topicSize("room") == 0 {
		t.Fatal("the fast client was dropped too")
	}
}

func TestHeartbeatPings(t *testing.T) {
	g := New(nil, nil, nil, Config{PingInterval: 20 * time.Millisecond})
	defer g.Close()
	ln := listen(t)
	s, c := tcpPair(t, ln)
	defer c.Close()
	attach(g, s, "u", "t")
	var pings atomic.Int64
	go func() {
		for {
			h, err := ws.ReadHeader(c)
			if err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, c, h.Length); err != nil {
				return
			}
			if h.OpCode == ws.OpPing {
				pings.Add(1)
			}
		}
	}()
	waitFor(t, "two pings", func() bool { return pings.Load() >= 2 })
}

func TestDecodeClientFrame(t *testing.T) {
	cases := []struct {
		in    string
		code  parley.Code
		field string
		ref   string
	}{
		{`{"type":"ping","ref":"a"}`, "", "", "a"},
		{`{"type":"send","conversation_id":"c","client_msg_id":"k","body":"hi","reply_to":2}`, "", "", ""},
		{`{"type":"nope","ref":"b"}`, parley.CodeInvalid, "type", "b"},
		{`{"ref":"c"}`, parley.CodeInvalid, "type", "c"},
		{`{"type":"ping","extra":1,"ref":"d"}`, parley.CodeInvalid, "extra", "d"},
		{`{"type":"read","seq":"x"}`, parley.CodeInvalid, "seq", ""},
		{`{"type":"read","seq":1.5}`, parley.CodeInvalid, "seq", ""},
		{`[1,2]`, parley.CodeInvalid, "", ""},
		{`{"type":"ping"} {"type":"ping"}`, parley.CodeInvalid, "", ""},
		{`{"type":"ping"`, parley.CodeInvalid, "", ""},
		{`null`, parley.CodeInvalid, "type", ""},
		{`{"type":"ping","ref":"` + strings.Repeat("r", MaxRefLen+1) + `"}`, parley.CodeTooLarge, "ref", ""},
		{`{"type":"presence_subscribe","user_ids":[` + strings.Repeat(`"x",`, MaxPresenceUsers) + `"x"]}`, parley.CodeTooLarge, "user_ids", ""},
	}
	for _, tc := range cases {
		f, err := DecodeClientFrame([]byte(tc.in))
		if parley.ErrorCode(err) != tc.code {
			t.Errorf("%.60s: err %v, want %q", tc.in, err, tc.code)
			continue
		}
		if err != nil && parley.AsError(err).Field != tc.field {
			t.Errorf("%.60s: field %q, want %q", tc.in, parley.AsError(err).Field, tc.field)
		}
		if f.Ref != tc.ref {
			t.Errorf("%.60s: ref %q, want %q", tc.in, f.Ref, tc.ref)
		}
	}
}

func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{`{"type":"auth","token":"t"}`, `{"type":"send","conversation_id":"c","client_msg_id":"k","body":"hi"}`,
		`{"type":"typing","typing":false}`, `{"type":"presence_subscribe","user_ids":["a"]}`, `{}`, `[`, `{"type":1}`,
		` { "type" : "read" , "conversation_id":"c", "seq": 12 } `, `{"type":"send","body":"h\u00e9","ref":"r"}`,
		`{"type":"send","body":"hÃ© ÿ"}`, `{"type":"read","seq":-0}`, `{"type":"read","seq":012}`,
		`{"type":"read","seq":9223372036854775807}`, `{"type":"read","seq":1e3}`, `{"Type":"ping"}`,
		`{"type":"ping","type":"send"}`, `{"type":"history","limit":-5}`, `{"type":"ping"}x`,
		`{"type":"call_ring","conversation_id":"c","video":true}`, `{"type":"call_sdp","call_id":"k","sdp_type":"offer","sdp":"v=0"}`,
		`{"type":"call_ice","call_id":"k","candidate":{"candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"call_ice","candidate":{"bogus":1}}`,
		`{"type":"auth","token":"t","since":{"c1":3,"c2":0}}`, `{"type":"auth","since":{}}`, `{"type":"auth","since":null}`,
		`{"type":"auth","since":{"c":1,"c":2}}`, `{"type":"auth","since":{"c":-1}}`, `{"type":"auth","since":{"c":1.5}}`,
		`{"type":"auth","since":{"c" : 1 ,"d":2 } ,"token":"t"}`, `{"type":"auth","since":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		// The fast path accepts only what the strict decoder decodes to
		// the very same frame.
		var fast ClientFrame
		if decodeFast(p, &fast) {
			strict, err := decodeStrict(p)
			if err != nil || !reflect.DeepEqual(fast, strict) {
				t.Fatalf("fast path decoded %q to %+v; strict decoder: %+v, %v", p, fast, strict, err)
			}
		}
		fr, err := DecodeClientFrame(p)
		if len(fr.Ref) > MaxRefLen {
			t.Fatalf("ref of %d bytes passed", len(fr.Ref))
		}
		if err != nil {
			if parley.AsError(err).Code == parley.CodeInternal {
				t.Fatalf("internal error for client input: %v", err)
			}
			return
		}
		switch fr.Type {
		case OpAuth, OpSend, OpTyping, OpRead, OpDelivered, OpPresenceSubscribe, OpPresenceUnsubscribe, OpSync, OpPing, OpHistory,
			OpCallRing, OpCallAccept, OpCallDecline, OpCallBusy, OpCallCancel, OpCallHangup, OpCallSDP, OpCallICE,
			OpFocus:
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
	})
}

// FuzzReadMessage feeds arbitrary bytes to the WebSocket frame reader: it
// must never panic, and whatever it returns is valid, bounded text.
func FuzzReadMessage(f *testing.F) {
	mask := [4]byte{1, 2, 3, 4}
	text := func(fin bool, op ws.OpCode, p string) []byte {
		var b bytes.Buffer
		fr := ws.NewFrame(op, fin, []byte(p))
		fr.Header.Masked = true
		fr.Header.Mask = mask
		fr = ws.MaskFrameInPlace(fr)
		_ = ws.WriteFrame(&b, fr)
		return b.Bytes()
	}
	f.Add(text(true, ws.OpText, `{"type":"ping"}`))
	f.Add(append(text(false, ws.OpText, `{"type":`), text(true, ws.OpContinuation, `"ping"}`)...))
	f.Add(append(text(true, ws.OpPing, "x"), text(true, ws.OpText, "{}")...))
	f.Add(text(true, ws.OpBinary, "\x00"))
	f.Add([]byte{0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	g := New(nil, nil, nil, Config{MaxFrameBytes: 1024})
	f.Cleanup(func() { g.Close() })
	f.Fuzz(func(t *testing.T, p []byte) {
		a, b := net.Pipe()
		defer a.Close()
		b.Close()
		c := newConn(g, a, p)
		for {
			msg, err := c.readMessage()
			if err != nil {
				return
			}
			if len(msg) > 1024 {
				t.Fatalf("message of %d bytes passed the 1024-byte cap", len(msg))
			}
			if !utf8Valid(msg) {
				t.Fatalf("invalid UTF-8 passed")
			}
		}
	})
}

// BenchmarkRoute measures the hub and the queues alone: one event routed to
// 1,000 subscribed connections, frames queued (writers held off).
func BenchmarkRoute(b *testing.B) {
	g := New(nil, nil, nil, Config{QueueFrames: 1 << 16, QueueBytes: 1 << 30})
	defer g.Close()
	ln := listen(b)
	const members = 1000
	var conns []*Conn
	for i := 0; i < members; i++ {
		s, c := tcpPair(b, ln)
		defer c.Close()
		cn := attach(g, s, fmt.Sprint("u", i), "room", fmt.Sprint("other", i%10))
		cn.hold()
		conns = append(conns, cn)
	}
	e := parley.Event{Kind: parley.EventMessage, ConversationID: "room", Frame: bytes.Repeat([]byte("x"), 150)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.HandleEvent(e)
		if i%512 == 511 {
			b.StopTimer()
			for _, c := range conns {
				c.mu.Lock()
				clear(c.queue)
				c.queue, c.qbytes = c.queue[:0], 0
				c.mu.Unlock()
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)*members/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkFanOut measures encode-once/write-many end to end over real
// loopback sockets: one 150-byte frame to 1,000 connections per op, written
// by the writer pool and read by 1,000 client goroutines. Flow control: at
// most 256 events in flight, as a live system's queues would allow.
func BenchmarkFanOut(b *testing.B) {
	g := New(nil, nil, nil, Config{})
	defer g.Close()
	ln := listen(b)
	const members = 1000
	var readers []*reader
	for i := 0; i < members; i++ {
		s, c := tcpPair(b, ln)
		defer c.Close()
		attach(g, s, fmt.Sprint("u", i), "room")
		readers = append(readers, readAll(c, false))
	}
	total := func() int64 {
		var n int64
		for _, r := range readers {
			n += r.frames.Load()
		}
		return n
	}
	e := parley.Event{Kind: parley.EventMessage, ConversationID: "room", Frame: bytes.Repeat([]byte("x"), 150)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.HandleEvent(e)
		if i%256 == 255 {
			want := int64(i+1-128) * members
			for total() < want {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	want := int64(b.N) * members
	for total() < want {
		time.Sleep(50 * time.Microsecond)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
}

func utf8Valid(p []byte) bool { return utf8.Valid(p) }

// TestDecodeFast pins which frames take the fast path; whatever it takes
// must decode as the strict decoder does (FuzzDecodeClientFrame).
func TestDecodeFast(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{"type":"send","ref":"s1","conversation_id":"c","client_msg_id":"k","body":"héllo"}`, true},
		{" {\n\"type\" : \"read\",\t\"conversation_id\":\"c\",\"seq\":42}\r\n", true},
		{`{"type":"history","conversation_id":"c","limit":-3}`, true},
		{`{}`, true},
		{`{"type":"send","body":"a\nb"}`, false},              // raw control character: invalid JSON
		{`{"type":"send","body":"a\\nb"}`, false},             // escape
		{"{\"type\":\"send\",\"body\":\"\xff\"}", false},      // invalid UTF-8 (replaced by encoding/json)
		{`{"type":"ping","type":"send"}`, false},              // duplicate key
		{`{"TYPE":"ping"}`, false},                            // case-insensitive match
		{`{"type":"typing","typing":true}`, false},            // not a string or integer field
		{`{"type":"read","seq":1.5}`, false},                  // not an integer
		{`{"type":"read","seq":01}`, false},                   // leading zero
		{`{"type":"read","seq":12345678901234567890}`, false}, // may overflow
		{`{"type":"ping"} {}`, false},                         // trailing data
		{`{"type":"ping",}`, false},                           // trailing comma
	} {
		var f ClientFrame
		if got := decodeFast([]byte(tc.in), &f); got != tc.fast {
			t.Errorf("decodeFast(%q) = %v, want %v", tc.in, got, tc.fast)
			continue
		}
		if tc.fast {
			strict, err := decodeStrict([]byte(tc.in))
			if err != nil || !reflect.DeepEqual(f, strict) {
				t.Errorf("%q: fast %+v, strict %+v %v", tc.in, f, strict, err)
			}
		}
	}
}

// BenchmarkDecodeClientFrame decodes a typical send frame (fast path) and the
// same frame through the strict decoder alone.
func BenchmarkDecodeClientFrame(b *testing.B) {
	p := []byte(`{"type":"send","ref":"1.2345","conversation_id":"01kaw9yq7a8b9c0d1e2f3g4h5j","client_msg_id":"bench-1.2345","body":"pb1 1 2345 1796420675760788027 1796420675760788027 a typical chat message"}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeClientFrame(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeStrict(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendAck: the spliced ack is byte for byte the encoded ackFrame.
func TestAppendAck(t *testing.T) {
	m := parley.Message{ID: parley.NewID(), ConversationID: parley.NewID(), Seq: 7, SenderID: parley.NewID(),
		ClientMsgID: "k<1>", Kind: parley.MessageUser, Body: "a \"quoted\" <b>&amp; é \u2028", CreatedAt: time.Now().UTC()}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"", "s1", `q"<&>\` + "\u00e9\x01"} {
		want := encode(ackFrame{Type: "ack", Ref: ref, Created: true, Message: m})
		if got := ackJSON(ref, mj); !bytes.Equal(got, want) {
			t.Errorf("ref %q:\n got %s\nwant %s", ref, got, want)
		}
	}
}

func TestDecodeFocusFrame(t *testing.T) {
	f, err := DecodeClientFrame([]byte(`{"type":"focus","focused":true,"ref":"f1"}`))
	if err != nil || f.Type != OpFocus || f.Focused == nil || !*f.Focused || f.Ref != "f1" {
		t.Fatalf("%+v %v", f, err)
	}
	for in, field := range map[string]string{
		`{"type":"focus","focused":"yes"}`: "focused",
		`{"type":"focus","focused":1}`:     "focused",
		`{"type":"focus","focus":true}`:    "focus",
	} {
		if _, err := DecodeClientFrame([]byte(in)); parley.AsError(err).Code != parley.CodeInvalid || parley.AsError(err).Field != field {
			t.Errorf("%s: %v, want invalid on %s", in, err, field)
		}
	}
}

// A membership event that arrives while sign-in subscribes from snapshots
// read before the event's commit wins over them: a member removed then is
// not left subscribed (it would keep receiving the conversation's events),
// and one added then and removed again ends unsubscribed, added again ends
// subscribed.
func TestSignInMembershipRace(t *testing.T) {
	g := New(nil, nil, nil, Config{})
	defer g.Close()
	server, client := tcpPair(t, listen(t))
	defer client.Close()
	c := attach(g, server, "u1")
	defer detach(g, c)
	c.beginSync()
	// Removed from "gone" after sign-in read its ids, before it subscribed.
	g.HandleEvent(parley.Event{ConversationID: "gone", Leave: []string{"u1"}})
	// "back": left, then joined again; "flip": joined, then left.
	g.HandleEvent(parley.Event{ConversationID: "back", Leave: []string{"u1"}})
	g.HandleEvent(parley.Event{ConversationID: "flip", Join: []string{"u1"}})
	g.HandleEvent(parley.Event{ConversationID: "back", Join: []string{"u1"}})
	g.HandleEvent(parley.Event{ConversationID: "flip", Leave: []string{"u1"}})
	for _, id := range []string{"gone", "kept", "flip"} { // the stale snapshot
		c.subscribe(id)
	}
	c.endSync()
	for id, want := range map[string]bool{"gone": false, "kept": true, "back": true, "flip": false} {
		if got := c.subscribed(id); got != want {
			t.Errorf("%s: subscribed %v, want %v", id, got, want)
		}
	}
	// After sign-in events apply as before.
	g.HandleEvent(parley.Event{ConversationID: "kept", Leave: []string{"u1"}})
	if c.subscribed("kept") {
		t.Error("a removal after sign-in left the subscription")
	}
}
