package app

import (
	"context"
	"encoding/json"

	"github.com/parley-chat/parley"
)

// typingFrame is {"type":"typing","conversation_id","user_id","typing","expires_in_ms"}.
type typingFrame struct {
	Type           parley.EventKind `json:"type"`
	ConversationID string           `json:"conversation_id"`
	UserID         string           `json:"user_id"`
	Typing         bool             `json:"typing"`
	ExpiresInMS    int64            `json:"expires_in_ms"`
}

// Typing tells the other members of conversationID that actor is (or
// stopped) typing. Nothing is stored: receivers show the indicator for
// expires_in_ms unless it is renewed or cancelled. Indicators beyond
// r.typingRate per user and conversation are accepted and dropped.
// Errors: unauthenticated; invalid conversation_id; not_found for a
// conversation actor is not a member of.
func (r *Realtime) Typing(ctx context.Context, actor parley.Actor, conversationID string, typing bool) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if !parley.ValidID(conversationID) {
		return parley.Invalid("conversation_id", "conversation_id must be a conversation id")
	}
	if err := r.App.memberOf(ctx, actor, conversationID); err != nil {
		return err
	}
	if typing {
		if ok, _ := r.typing.Allow(actor.UserID + "/" + conversationID); !ok {
			return nil
		}
	}
	frame, _ := json.Marshal(typingFrame{Type: parley.EventTyping, ConversationID: conversationID,
		UserID: actor.UserID, Typing: typing, ExpiresInMS: r.typingTTL.Milliseconds()})
	e, drop := r.App.withoutBlocked(ctx, actor.UserID, parley.Event{
		Kind: parley.EventTyping, ConversationID: conversationID, Frame: frame,
	})
	if !drop {
		r.App.publish(context.WithoutCancel(ctx), e)
	}
	return nil
}
