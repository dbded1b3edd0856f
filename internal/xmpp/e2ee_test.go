package xmpp

import (
	"encoding/json"
	"testing"

	"github.com/parley-chat/parley"
)

// An XMPP client cannot decrypt: it gets the placeholder, never the envelope.
func TestEncryptedMessageText(t *testing.T) {
	s := &Server{}
	m := &parley.Message{ID: "m", E2EE: json.RawMessage(`{"v":1}`)}
	if got := s.messageText(m); got != parley.EncryptedPlaceholder {
		t.Fatalf("text %q", got)
	}
	if got := s.messageText(&parley.Message{Body: "plain"}); got != "plain" {
		t.Fatalf("plain text %q", got)
	}
}
