package app

import (
	"context"

	"github.com/parley-chat/parley"
)

// SyncState returns, in one cheap query, every conversation actor is a
// member of with its newest seq and actor's receipts. It is the first step
// of resync (docs/protocol.md "Resync"): a client holding every message up
// to h in a conversation fetches the history after h up to LastSeq, and
// skips conversations where h == LastSeq.
func (a *App) SyncState(ctx context.Context, actor parley.Actor) ([]parley.ConversationState, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	return a.store.ConversationStates(ctx, actor.UserID)
}
