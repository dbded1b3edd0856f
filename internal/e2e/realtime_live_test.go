package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

var bg = context.Background()

// connect opens an SDK real-time session and consumes its "connected" event.
func connect(t *testing.T, c *client.Client) *client.Realtime {
	t.Helper()
	rt, err := c.Connect(bg, client.RealtimeOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	if ev := next(t, rt); ev.Type != "connected" {
		t.Fatalf("first event %q", ev.Type)
	}
	return rt
}

// next returns the next event, failing if none comes (liveness bound only).
func next(t *testing.T, rt *client.Realtime) client.Event {
	t.Helper()
	select {
	case ev, ok := <-rt.Events():
		if !ok {
			t.Fatal("event stream closed")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
	}
	return client.Event{}
}

// nextOf skips events until one of type typ.
func nextOf(t *testing.T, rt *client.Realtime, typ string) client.Event {
	t.Helper()
	for {
		if ev := next(t, rt); ev.Type == typ {
			return ev
		}
	}
}

// device signs the user in again: a second session, as a second device.
func device(t *testing.T, env *apitest.Env, username string) *client.Client {
	t.Helper()
	c := env.Client()
	if _, err := c.Login(bg, username, apitest.Password); err != nil {
		t.Fatal(err)
	}
	return c
}

func group(t *testing.T, owner *client.Client, members ...parley.User) parley.Conversation {
	t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	conv, _, err := owner.CreateConversation(bg, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "g", MemberIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func TestRealtimeMessagesReachEveryDevice(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	_, carolU := env.NewUser(t, "carol")
	conv := group(t, alice, bobU, carolU)

	a1, a2 := connect(t, alice), connect(t, device(t, env, "alice"))
	b1, b2 := connect(t, bob), connect(t, device(t, env, "bob"))

	m, err := b1.SendMessage(bg, conv.ID, "k1", "hello over the socket")
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq == 0 || m.Body != "hello over the socket" || m.ConversationID != conv.ID {
		t.Fatalf("ack = %+v", m)
	}
	for name, rt := range map[string]*client.Realtime{"alice 1": a1, "alice 2": a2, "bob 1 (sender)": b1, "bob 2": b2} {
		ev := nextOf(t, rt, "message")
		if ev.Message == nil || ev.Message.ID != m.ID || ev.Message.Seq != m.Seq {
			t.Errorf("%s got %+v", name, ev.Message)
		}
	}
	// Idempotent: the same client_msg_id returns the original, no new event.
	again, err := b1.SendMessage(bg, conv.ID, "k1", "hello over the socket")
	if err != nil || again.ID != m.ID {
		t.Fatalf("resend: %+v %v", again, err)
	}
	// A REST send is pushed too, as the same message object.
	rm, _, err := alice.Send(bg, conv.ID, client.SendRequest{Body: "via REST"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextOf(t, b2, "message"); ev.Message.ID != rm.ID || ev.Message.Seq != m.Seq+1 {
		t.Errorf("bob 2 got %+v after the resend, want the REST message (no duplicate)", ev.Message)
	}
}

func TestRealtimeSendErrors(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	eve, _ := env.NewUser(t, "eve")
	_, bobU := env.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	w := dialAuthed(t, env, eve.Token())
	cases := []struct {
		frame map[string]any
		code  string
	}{
		{map[string]any{"conversation_id": conv.ID, "client_msg_id": "x", "body": "hi"}, "not_found"},
		{map[string]any{"conversation_id": "nope", "client_msg_id": "x", "body": "hi"}, "invalid"},
		{map[string]any{"conversation_id": parley.NewID(), "client_msg_id": "x", "body": "hi"}, "not_found"},
	}
	for i, tc := range cases {
		tc.frame["type"], tc.frame["ref"] = "send", fmt.Sprint(i)
		w.send(tc.frame)
		e := w.expect("error")
		if errCode(e) != tc.code || e["ref"] != fmt.Sprint(i) {
			t.Errorf("case %d: %v, want %s", i, e, tc.code)
		}
	}
	wa := dialAuthed(t, env, alice.Token())
	for i, body := range []string{"", strings.Repeat("x", 4001)} {
		wa.send(map[string]any{"type": "send", "ref": "b", "conversation_id": conv.ID, "client_msg_id": fmt.Sprint("b", i), "body": body})
		if e := wa.expect("error"); errCode(e) != "invalid" && errCode(e) != "too_large" {
			t.Errorf("body of %d chars: %v", len(body), e)
		}
	}
	wa.send(map[string]any{"type": "send", "ref": "nokey", "conversation_id": conv.ID, "body": "hi"})
	if e := wa.expect("error"); errCode(e) != "invalid" {
		t.Errorf("missing client_msg_id: %v", e)
	}
	h, err := alice.History(bg, conv.ID, client.HistoryQuery{})
	if err != nil || len(h) != 1 { // just the "created" system message
		t.Errorf("refused sends were stored: %v %v", h, err)
	}
}

// TestRealtimeResync cuts a receiver off again and again while others keep
// sending, and checks it ends up with every message exactly once, in order.
func TestRealtimeResync(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, aliceU := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")
	conv := group(t, carol, aliceU, bobU)
	rx := connect(t, bob)

	const perSender = 60
	var wg sync.WaitGroup
	for _, sender := range []*client.Client{alice, carol} {
		rt := connect(t, sender)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				if _, err := rt.SendMessage(bg, conv.ID, "", fmt.Sprint("m", i)); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		for i := 0; i < 4; i++ {
			time.Sleep(15 * time.Millisecond)
			rx.Drop()
		}
	}()
	wg.Wait()
	<-cut
	last := int64(0)
	var seqs []int64
	for len(seqs) < 2*perSender {
		ev := next(t, rx)
		if ev.Type != "message" {
			continue
		}
		if last != 0 && ev.Message.Seq != last+1 {
			t.Fatalf("seq %d after %d: gap or duplicate", ev.Message.Seq, last)
		}
		last = ev.Message.Seq
		seqs = append(seqs, last)
	}
	c, err := bob.Conversation(bg, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last != c.LastSeq {
		t.Fatalf("received up to seq %d, conversation is at %d", last, c.LastSeq)
	}
	// Nothing more (no duplicates) arrives after a further reconnect.
	rx.Drop()
	nextOf(t, rx, "connected")
	if _, _, err := alice.Send(bg, conv.ID, client.SendRequest{Body: "final"}); err != nil {
		t.Fatal(err)
	}
	if ev := nextOf(t, rx, "message"); ev.Message.Seq != last+1 {
		t.Fatalf("after reconnect got seq %d, want %d", ev.Message.Seq, last+1)
	}
}

func TestRealtimeSlowConsumer(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, aliceU := env.NewUser(t, "alice")
	slow, slowU := env.NewUser(t, "slow")
	var senders []*client.Client
	var senderUs []parley.User
	for i := 0; i < 4; i++ {
		c, u := env.NewUser(t, fmt.Sprint("sender", i))
		senders, senderUs = append(senders, c), append(senderUs, u)
	}
	conv := group(t, alice, append(senderUs, slowU)...)
	_ = aliceU
	fast := connect(t, alice)
	var senderRTs []*client.Realtime
	for _, s := range senders {
		senderRTs = append(senderRTs, connect(t, s))
	}

	// The slow client authenticates, then never reads, with a tiny receive buffer.
	d := ws.Dialer{Timeout: 5 * time.Second, NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	nc, _, _, err := d.Dial(bg, strings.Replace(env.URL, "http://", "ws://", 1)+"/api/v1/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	w := &rawWS{t: t, conn: nc, r: nc}
	w.send(map[string]any{"type": "auth", "token": slow.Token()})
	w.expect("ready")
	before := env.Server.Gateway.Connections()

	t0 := time.Now()
	body := strings.Repeat("😀", 4000) // 16 KB frames
	gone := func() bool { return env.Server.Gateway.Connections() < before }
	const most = 400 // per sender; the slow client goes long before
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for _, rt := range senderRTs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < most && !gone(); i++ {
				if _, err := rt.SendMessage(bg, conv.ID, "", body); err != nil {
					t.Errorf("send: %v", err)
					return
				}
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("sending took %v", time.Since(t0))
	if !gone() {
		t.Fatal("the client that never reads is still connected")
	}
	// Everyone else got everything, in order.
	last := int64(0)
	for got := 0; got < sent; {
		if ev := next(t, fast); ev.Type == "message" {
			if last != 0 && ev.Message.Seq != last+1 {
				t.Fatalf("fast client: seq %d after %d", ev.Message.Seq, last)
			}
			last = ev.Message.Seq
			got++
		}
	}
	t.Logf("slow consumer disconnected after %d messages of %d bytes", sent, len(body))
	// The slow client sees the end of its stream (a 4008 close frame if
	// there was room for it in its socket buffer).
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		h, err := ws.ReadHeader(nc)
		if err != nil {
			break
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(nc, p); err != nil {
			break
		}
		if h.OpCode == ws.OpClose {
			if code, _ := ws.ParseCloseFrameData(p); code != 4008 {
				t.Errorf("close code %d, want 4008", code)
			}
			break
		}
	}
}

func TestRealtimeReceipts(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	eve, _ := env.NewUser(t, "eve")
	conv := group(t, alice, bobU)
	ra, rb := connect(t, alice), connect(t, bob)
	var last parley.Message
	for i := 0; i < 3; i++ {
		m, err := ra.SendMessage(bg, conv.ID, "", fmt.Sprint("m", i))
		if err != nil {
			t.Fatal(err)
		}
		last = m
	}
	r, err := rb.MarkDelivered(bg, conv.ID, last.Seq)
	if err != nil || r.DeliveredSeq != last.Seq || r.ReadSeq != 0 {
		t.Fatalf("delivered: %+v %v", r, err)
	}
	if ev := nextOf(t, ra, "receipt"); ev.Receipt.UserID != bobU.ID || ev.Receipt.DeliveredSeq != last.Seq {
		t.Errorf("sender saw %+v", ev.Receipt)
	}
	r, err = rb.MarkRead(bg, conv.ID, last.Seq-1)
	if err != nil || r.ReadSeq != last.Seq-1 {
		t.Fatalf("read: %+v %v", r, err)
	}
	if ev := nextOf(t, ra, "receipt"); ev.Receipt.ReadSeq != last.Seq-1 {
		t.Errorf("sender saw %+v", ev.Receipt)
	}
	// Never backwards, also over REST; beyond last_seq is clamped.
	r, err = bob.MarkRead(bg, conv.ID, 1)
	if err != nil || r.ReadSeq != last.Seq-1 {
		t.Fatalf("lower read moved the receipt: %+v %v", r, err)
	}
	r, err = bob.MarkRead(bg, conv.ID, 1000)
	if err != nil || r.ReadSeq != last.Seq {
		t.Fatalf("read beyond the end: %+v %v", r, err)
	}
	rs, err := alice.Receipts(bg, conv.ID)
	if err != nil || len(rs) != 2 {
		t.Fatalf("receipts: %v %v", rs, err)
	}
	for _, r := range rs {
		if r.UserID == bobU.ID && r.ReadSeq != last.Seq {
			t.Errorf("bob's receipt %+v", r)
		}
	}
	// Bad forms.
	if _, err := eve.MarkRead(bg, conv.ID, 1); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("stranger marking read: %v", err)
	}
	if _, err := eve.Receipts(bg, conv.ID); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("stranger reading receipts: %v", err)
	}
	if _, err := bob.MarkRead(bg, conv.ID, -1); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("negative seq: %v", err)
	}
	if _, err := bob.MarkRead(bg, "bad id", 1); !parley.IsCode(err, parley.CodeInvalid) && !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := rb.MarkRead(bg, parley.NewID(), 1); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("unknown conversation over the socket: %v", err)
	}
}

func TestRealtimePresenceAndTyping(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, aliceU := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	eve, _ := env.NewUser(t, "eve")
	conv := group(t, alice, bobU)
	ra := connect(t, alice)

	st, err := ra.WatchPresence(bg, bobU.ID)
	if err != nil || len(st) != 1 || st[0].UserID != bobU.ID || st[0].Online {
		t.Fatalf("bob before connecting: %+v %v", st, err)
	}
	rb := connect(t, bob)
	if ev := nextOf(t, ra, "presence"); ev.Presence.UserID != bobU.ID || !ev.Presence.Online {
		t.Fatalf("online event %+v", ev.Presence)
	}
	// A second device does not announce again; the last one leaving does.
	rb2 := connect(t, device(t, env, "bob"))
	rb2.Close()
	if err := rb.Typing(bg, conv.ID, true); err != nil {
		t.Fatal(err)
	}
	ev := nextOf(t, ra, "typing")
	if ev.UserID != bobU.ID || !ev.Typing || ev.ConversationID != conv.ID || !strings.Contains(string(ev.Raw), `"expires_in_ms"`) {
		t.Fatalf("typing event %+v %s", ev, ev.Raw)
	}
	rb.Close()
	ev = nextOf(t, ra, "presence")
	if ev.Presence.UserID != bobU.ID || ev.Presence.Online || ev.Presence.LastSeenAt == nil {
		t.Fatalf("offline event %+v", ev.Presence)
	}

	// Strangers see nothing, and cannot type into others' conversations.
	re := connect(t, eve)
	if st, err := re.WatchPresence(bg, aliceU.ID, bobU.ID); err != nil || len(st) != 0 {
		t.Fatalf("stranger's presence view: %+v %v", st, err)
	}
	if err := re.Typing(bg, conv.ID, true); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("stranger typing: %v", err)
	}
	if _, err := re.WatchPresence(bg, "not-an-id"); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := re.WatchPresence(bg); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("no ids: %v", err)
	}
}

func TestRealtimeHistory(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	eve, _ := env.NewUser(t, "eve")
	_, bobU := env.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	ra := connect(t, alice)
	for i := 0; i < 5; i++ {
		if _, err := ra.SendMessage(bg, conv.ID, "", fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := ra.History(bg, conv.ID, 2, 0, 2)
	if err != nil || len(ms) != 2 || ms[0].Seq != 3 || ms[1].Seq != 4 {
		t.Fatalf("after 2: %+v %v", ms, err)
	}
	ms, err = ra.History(bg, conv.ID, 0, 3, 0)
	if err != nil || len(ms) != 2 || ms[0].Seq != 2 || ms[1].Seq != 1 {
		t.Fatalf("before 3: %+v %v", ms, err)
	}
	if _, err := ra.History(bg, conv.ID, 1, 3, 0); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("after and before: %v", err)
	}
	if _, err := ra.History(bg, conv.ID, 0, 0, 100000); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("huge limit: %v", err)
	}
	re := connect(t, eve)
	if _, err := re.History(bg, conv.ID, 0, 0, 0); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("stranger: %v", err)
	}
}

func TestReceiptBadBodies(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	_, bobU := env.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	hc := env.HTTPClient()
	for body, field := range map[string]string{
		`{"seq":"x"}`:         "seq",
		`{"seq":1,"extra":2}`: "extra",
		`{"seq":1.5}`:         "seq",
		`[1]`:                 "",
		``:                    "",
	} {
		req, _ := http.NewRequest("POST", env.URL+"/api/v1/conversations/"+conv.ID+"/read", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+alice.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb struct {
			Error struct{ Code, Field string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || eb.Error.Code != "invalid" || eb.Error.Field != field {
			t.Errorf("body %q: %d %+v", body, resp.StatusCode, eb.Error)
		}
	}
	req, _ := http.NewRequest("POST", env.URL+"/api/v1/conversations/"+conv.ID+"/read", strings.NewReader(`{"seq":1}`))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}
	rs, err := alice.Receipts(bg, conv.ID)
	if err != nil || len(rs) != 2 || rs[0].ReadSeq != 0 || rs[1].ReadSeq != 0 {
		t.Errorf("refused requests moved receipts: %+v %v", rs, err)
	}
}
