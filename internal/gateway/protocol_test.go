package gateway

import (
	"bytes"
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
