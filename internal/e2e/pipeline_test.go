package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/gobwas/ws/wsutil"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestRealtimePipelinedSends writes a burst of frames in one write without
// waiting for answers — sends, pings, refused sends, a resend, a frame that
// does not decode — and checks the pipelining contract of docs/protocol.md:
// every frame is answered once, in frame order; the messages are stored in
// the order sent; and the sends really were in flight together (they shared
// commits).
func TestRealtimePipelinedSends(t *testing.T) {
	env := apitest.Start(t, nil)
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	conv := group(t, alice, bobU)
	wb := dialAuthed(t, env, bob.Token())
	wa := dialAuthed(t, env, alice.Token())

	type want struct {
		ref, typ string
		body     string // for sends stored anew
	}
	var burst bytes.Buffer
	var wants []want
	frame := func(v map[string]any, w want) {
		b, _ := json.Marshal(v)
		if err := wsutil.WriteClientText(&burst, b); err != nil {
			t.Fatal(err)
		}
		wants = append(wants, w)
	}
	const sends = 60
	for i := range sends {
		ref := fmt.Sprint("s", i)
		body := fmt.Sprint("message ", i)
		frame(map[string]any{"type": "send", "ref": ref, "conversation_id": conv.ID,
			"client_msg_id": fmt.Sprint("c", i), "body": body}, want{ref, "ack", body})
		switch i % 10 {
		case 3:
			frame(map[string]any{"type": "ping", "ref": fmt.Sprint("p", i)}, want{fmt.Sprint("p", i), "pong", ""})
		case 5:
			frame(map[string]any{"type": "send", "ref": fmt.Sprint("e", i), "conversation_id": conv.ID,
				"client_msg_id": fmt.Sprint("e", i), "body": "  "}, want{fmt.Sprint("e", i), "error", ""})
		case 7:
			frame(map[string]any{"type": "send", "ref": fmt.Sprint("r", i), "conversation_id": conv.ID,
				"client_msg_id": fmt.Sprint("c", i-1), "body": "resent"}, want{fmt.Sprint("r", i), "ack", ""})
		}
		if i == 30 {
			if err := wsutil.WriteClientText(&burst, []byte(`{"type":"send","ref":"bad","body":5}`)); err != nil {
				t.Fatal(err)
			}
			wants = append(wants, want{"bad", "error", ""})
		}
	}
	before := commitBatches(t, env)
	if _, err := wa.conn.Write(burst.Bytes()); err != nil {
		t.Fatal(err)
	}

	lastSeq := int64(0)
	seqOf := map[string]int64{} // client_msg_id → seq
	for _, w := range wants {
		var m map[string]any
		for {
			m, _ = wa.next()
			if m == nil {
				t.Fatalf("closed while waiting for the answer to %s", w.ref)
			}
			// Events (no ref) are not answers: messages, and the group's
			// creation events, which the bus may deliver after the dial.
			if _, answer := m["ref"]; answer {
				break
			}
		}
		if m["type"] != w.typ || m["ref"] != w.ref {
			t.Fatalf("answer %v, want %s to %s: answers out of frame order", m, w.typ, w.ref)
		}
		if w.typ != "ack" {
			continue
		}
		msg, _ := m["message"].(map[string]any)
		seq := int64(msg["seq"].(float64))
		cid, _ := msg["client_msg_id"].(string)
		if w.body == "" { // the resend: the original message, not a new one
			if m["created"] != false || seqOf[cid] != seq {
				t.Fatalf("resend answered %v, want the original seq %d", m, seqOf[cid])
			}
			continue
		}
		if m["created"] != true || msg["body"] != w.body || seq <= lastSeq {
			t.Fatalf("ack %v after seq %d: sends stored out of order", m, lastSeq)
		}
		seqOf[cid], lastSeq = seq, seq
	}
	if batches := commitBatches(t, env) - before; batches >= sends*3/4 {
		t.Errorf("%d sends took %d commits: they were not in flight together", sends, batches)
	}

	// Bob receives every message once, in seq order; history has them in
	// the order they were sent.
	got := 0
	for got < sends {
		m := wb.expect("message")
		msg, _ := m["message"].(map[string]any)
		if msg["kind"] == "system" {
			continue // the group's creation, delivered after the dial
		}
		if msg["body"] != fmt.Sprint("message ", got) {
			t.Fatalf("bob's message %d is %v", got, msg["body"])
		}
		got++
	}
	h, err := alice.History(bg, conv.ID, client.HistoryQuery{After: 1, Limit: 100})
	if err != nil || len(h) != sends {
		t.Fatalf("history %d messages, %v", len(h), err)
	}
	for i, m := range h {
		if m.Body != fmt.Sprint("message ", i) || m.Seq != int64(i+2) {
			t.Fatalf("history[%d] = seq %d %q", i, m.Seq, m.Body)
		}
	}
}

var (
	batchCount = regexp.MustCompile(`(?m)^parley_commit_batch_ops_count (\d+)$`)
	timedCount = regexp.MustCompile(`(?m)^parley_commit_seconds_count (\d+)$`)
)

// commitBatches reads the number of group commits from /metrics; every one
// has its duration recorded too.
func commitBatches(t *testing.T, env *apitest.Env) int {
	t.Helper()
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := batchCount.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no parley_commit_batch_ops_count in /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	if d := timedCount.FindSubmatch(b); d == nil || string(d[1]) != string(m[1]) {
		t.Fatalf("parley_commit_seconds_count %q, want %d (one per batch)", d, n)
	}
	return n
}
