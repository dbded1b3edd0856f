package server

import (
	"testing"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/gateway"
)

// The gateway asks App.Missed for a ready frame's carried messages within
// its own bounds; bounds above the app's would turn every large catch-up
// into too_large and a ready frame without messages.
func TestReadyBoundsWithinMissedBounds(t *testing.T) {
	if gateway.ReadyMessagesPerConversation > app.MaxMissedPerRange || gateway.ReadyMessages > app.MaxMissedMessages ||
		gateway.MaxSince > app.MaxMissedRanges {
		t.Fatalf("gateway bounds (%d per conversation, %d in all, %d conversations) exceed App.Missed's (%d, %d, %d)",
			gateway.ReadyMessagesPerConversation, gateway.ReadyMessages, gateway.MaxSince,
			app.MaxMissedPerRange, app.MaxMissedMessages, app.MaxMissedRanges)
	}
}
