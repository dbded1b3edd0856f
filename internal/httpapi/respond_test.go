package httpapi

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// TestWriteMessageListMatchesWriteJSON: a history page written without
// reflection has writeJSON's status, content type and bytes.
func TestWriteMessageListMatchesWriteJSON(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 4, 3, 0, time.UTC)
	for _, ms := range [][]parley.Message{nil, {}, {
		{ID: "1", ConversationID: "c", Seq: 1, SenderID: "s", ClientMsgID: "x", Kind: parley.MessageUser, Body: "<hi> & bye", CreatedAt: at},
		{ID: "2", ConversationID: "c", Seq: 2, SenderID: "s", Kind: parley.MessageUser, Body: "b", CreatedAt: at,
			Reactions: []parley.Reaction{{Emoji: "👍", Count: 1, UserIDs: []string{"u"}}}},
	}} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSON(want, 200, messageList{Messages: ms})
		writeMessageList(got, ms)
		if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") ||
			!bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Errorf("\nwriteJSON        %d %s\nwriteMessageList %d %s", want.Code, want.Body, got.Code, got.Body)
		}
	}
}
