package nats

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parley-chat/parley"
)

func TestCodecRoundTrip(t *testing.T) {
	for _, e := range []parley.Event{
		{},
		{Kind: parley.EventTyping},
		{Kind: parley.EventMessage, ConversationID: "c", Frame: []byte(`{"type":"message"}`)},
		{Kind: parley.EventMemberJoined, ConversationID: "c", UserIDs: []string{"a", "b"}, SessionIDs: []string{"s"},
			Join: []string{"x"}, Leave: []string{"y", "z"}, Frame: []byte{0, 1, 2, 255}},
	} {
		b := appendEvent(nil, e)
		got, err := decodeEvent(b)
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", e) {
			t.Fatalf("round trip: got %+v, want %+v", got, e)
		}
	}
}

// The encoding is compact: a message event costs its frame plus a few
// bytes per id.
func TestCodecIsCompact(t *testing.T) {
	frame := bytes.Repeat([]byte("x"), 300)
	e := parley.Event{Kind: parley.EventMessage, ConversationID: parley.NewID(), Frame: frame}
	b := appendEvent(nil, e)
	if overhead := len(b) - len(frame); overhead > 1+1+7+1+26+4 {
		t.Fatalf("overhead %d bytes", overhead)
	}
	if !bytes.Equal(b[len(b)-len(frame):], frame) {
		t.Fatal("frame bytes are not carried unchanged")
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, p := range [][]byte{
		nil, {0}, {2}, {1}, {1, 5, 'a'}, {1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := decodeEvent(p); err == nil {
			t.Errorf("%v: decoded", p)
		}
	}
}

// FuzzDecodeEvent: payloads arrive from the network; decoding must never
// panic, and whatever decodes must re-encode to the same bytes.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(appendEvent(nil, parley.Event{Kind: parley.EventMessage, ConversationID: "c", UserIDs: []string{"u"}, Frame: []byte("{}")}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		e, err := decodeEvent(p)
		if err != nil {
			return
		}
		if again := appendEvent(nil, e); !bytes.Equal(again, p) && !nonCanonical(p) {
			t.Fatalf("re-encoding %v gave %v", p, again)
		}
	})
}

// nonCanonical reports payloads that decode but whose varints are not in
// minimal form (they cannot re-encode byte for byte).
func nonCanonical(p []byte) bool {
	e, _ := decodeEvent(p)
	return len(appendEvent(nil, e)) != len(p)
}
