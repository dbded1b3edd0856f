package parley_test

import (
	"testing"

	"github.com/parley-chat/parley"
)

func TestPresenceTopicNeverAConversationID(t *testing.T) {
	if topic := parley.PresenceTopic(parley.NewID()); parley.ValidID(topic) {
		t.Errorf("presence topic %q looks like an id", topic)
	}
}
