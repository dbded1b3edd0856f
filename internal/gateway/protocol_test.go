package gateway

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// TestEncodeHistoryMatchesEncode: the history frame written without
// reflection has the bytes encode gives it.
func TestEncodeHistoryMatchesEncode(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 4, 3, 120_000_000, time.UTC)
	ms := []parley.Message{
		{ID: "1", ConversationID: "c", Seq: 1, SenderID: "s", ClientMsgID: "x", Kind: parley.MessageUser, Body: "<hi> & \"bye\"\n", CreatedAt: at},
		{ID: "2", ConversationID: "c", Seq: 2, SenderID: "s", Kind: parley.MessageSystem, CreatedAt: at,
			System: &parley.SystemInfo{Action: parley.SystemCreated, UserIDs: []string{"a", "b"}}, Deleted: true},
	}
	for _, f := range []historyFrame{
		{Type: "history", ConversationID: "c", Messages: ms},
		{Type: "history", Ref: `r<1>"&`, ConversationID: "c\u2028", Messages: ms[:1]},
		{Type: "history", Ref: "r", ConversationID: "c", Messages: []parley.Message{}},
		{Type: "history", Ref: "r", ConversationID: "c"},
	} {
		if got, want := encodeHistory(f), encode(f); !bytes.Equal(got, want) {
			t.Errorf("\nencode        %s\nencodeHistory %s", want, got)
		}
	}
}

// TestEncodeReadyMatchesEncode: the ready frame written without reflection
// has the bytes encode gives it.
func TestEncodeReadyMatchesEncode(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 4, 3, 120_000_000, time.UTC)
	ms, err := parley.AppendMessagesJSON(nil, []parley.Message{
		{ID: "1", ConversationID: "c<1>", Seq: 7, SenderID: "s", Kind: parley.MessageUser, Body: "<hi> & \"bye\"\n\u2028", CreatedAt: at},
	})
	if err != nil {
		t.Fatal(err)
	}
	user := parley.User{ID: "u", Username: "ann", DisplayName: "Ann <&>", CreatedAt: at}
	limits := Limits{MaxFrameBytes: 1 << 16, MaxMessageChars: 4000, PingIntervalMS: 25000, TypingTTLMS: 6000,
		QueueFrames: 1024, OpsPerSecond: 12.5, OpsBurst: 40}
	states := []parley.ConversationState{{ConversationID: "c<1>", LastSeq: 9, DeliveredSeq: 7, ReadSeq: 6},
		{ConversationID: "d\"\u2029", LastSeq: 1 << 40}}
	for _, f := range []readyFrame{
		{readyHead: readyHead{Type: "ready", Ref: "r", User: user, SessionID: "s", ConnID: "k", ServerTime: at, Limits: limits},
			Conversations: states, Messages: ms},
		{readyHead: readyHead{Type: "ready", User: user, SessionID: "s", ConnID: "k", ServerTime: at, Limits: limits},
			Conversations: states[:1]},
		{readyHead: readyHead{Type: "ready", Ref: `<r>`, ServerTime: at}, Conversations: []parley.ConversationState{}},
		{readyHead: readyHead{Type: "ready", Ref: "r", ServerTime: at}},
	} {
		if got, want := encodeReady(f), encode(f); !bytes.Equal(got, want) {
			t.Errorf("\nencode      %s\nencodeReady %s", want, got)
		}
	}
}

// BenchmarkEncodeReady: a storm client's ready frame (4 conversations, 2
// missed messages each) with and without reflection.
func BenchmarkEncodeReady(b *testing.B) {
	at := time.Date(2026, 12, 7, 5, 4, 3, 120_000_000, time.UTC)
	var missed []parley.Message
	var states []parley.ConversationState
	for c := range 4 {
		conv := parley.NewID()
		states = append(states, parley.ConversationState{ConversationID: conv, LastSeq: 12, DeliveredSeq: 10, ReadSeq: 10})
		for s := range 2 {
			missed = append(missed, parley.Message{ID: parley.NewID(), ConversationID: conv, Seq: int64(11 + s), SenderID: parley.NewID(),
				ClientMsgID: "c" + string(rune('0'+c)), Kind: parley.MessageUser, Body: "storm message with a few words", CreatedAt: at})
		}
	}
	ms, err := parley.AppendMessagesJSON(nil, missed)
	if err != nil {
		b.Fatal(err)
	}
	f := readyFrame{readyHead: readyHead{Type: "ready", Ref: "1", User: parley.User{ID: parley.NewID(), Username: "storm1",
		DisplayName: "storm1", CreatedAt: at}, SessionID: parley.NewID(), ConnID: "c1", ServerTime: at},
		Conversations: states, Messages: ms}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encode(f)
		}
	})
	b.Run("encodeReady", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeReady(f)
		}
	})
}

// TestDecodeFastTakesSince: a reconnecting client's auth frame stays on the
// fast path and decodes as the strict decoder does; repeated keys and
// null go to the strict path.
func TestDecodeFastTakesSince(t *testing.T) {
	p := []byte(`{"type":"auth","ref":"1","token":"tok","since":{"01kaw9yq7a8b9c0d1e2f3g4h5j":38, "01kaw9z":0}}`)
	var fast ClientFrame
	if !decodeFast(p, &fast) {
		t.Fatal("fast path refused an auth frame with since")
	}
	strict, err := decodeStrict(p)
	if err != nil || len(fast.Since) != 2 || fast.Since["01kaw9yq7a8b9c0d1e2f3g4h5j"] != 38 || fast.Token != "tok" ||
		fmt.Sprint(fast) != fmt.Sprint(strict) {
		t.Fatalf("fast %+v, strict %+v %v", fast, strict, err)
	}
	for _, s := range []string{`{"type":"auth","since":{"c":1,"c":2}}`, `{"type":"auth","since":null}`, `{"type":"auth","since":{"c":1e2}}`} {
		if decodeFast([]byte(s), &ClientFrame{}) {
			t.Errorf("fast path took %s", s)
		}
	}
}
