package app

import (
	"context"
	"encoding/json"

	"github.com/parley-chat/parley"
)

// MarkRead records that actor has read conversationID up to seq (and so
// received it). Receipts only move forward: a lower seq than the stored one
// changes nothing and returns the stored receipt; a seq beyond the newest
// message is clamped to it. When the receipt moves, a receipt event goes to
// the conversation (direct and group chats) or to the reader's own devices
// (channels, where per-member receipts would be noise).
// Errors: unauthenticated; invalid (conversation_id, seq); not_found for a
// conversation actor is not a member of.
func (a *App) MarkRead(ctx context.Context, actor parley.Actor, conversationID string, seq int64) (parley.Receipt, error) {
	return a.advanceReceipt(ctx, actor, conversationID, seq, seq)
}

// MarkDelivered records that a device of actor has received conversationID
// up to seq. Same rules as MarkRead. Clients should coalesce these (one per
// conversation per second or so): each one that moves the receipt is a write.
func (a *App) MarkDelivered(ctx context.Context, actor parley.Actor, conversationID string, seq int64) (parley.Receipt, error) {
	return a.advanceReceipt(ctx, actor, conversationID, seq, 0)
}

func (a *App) advanceReceipt(ctx context.Context, actor parley.Actor, conversationID string, delivered, read int64) (parley.Receipt, error) {
	if actor.Anonymous() {
		return parley.Receipt{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(conversationID) {
		return parley.Receipt{}, parley.Invalid("conversation_id", "conversation_id must be a conversation id")
	}
	if delivered < 0 || read < 0 {
		return parley.Receipt{}, parley.Invalid("seq", "seq must not be negative")
	}
	r, changed, err := a.store.AdvanceReceipt(ctx, conversationID, actor.UserID, delivered, read)
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.Receipt{}, parley.Errorf(parley.CodeNotFound, "conversation not found")
	}
	if err != nil {
		return parley.Receipt{}, err
	}
	if changed {
		a.publishReceipt(ctx, r)
	}
	return r, nil
}

// receiptFrame is {"type":"receipt","conversation_id","user_id","delivered_seq","read_seq"}.
type receiptFrame struct {
	Type parley.EventKind `json:"type"`
	parley.Receipt
}

func (a *App) publishReceipt(ctx context.Context, r parley.Receipt) {
	frame, _ := json.Marshal(receiptFrame{Type: parley.EventReceipt, Receipt: r})
	e := parley.Event{Kind: parley.EventReceipt, Frame: frame}
	c, err := a.store.Conversation(ctx, r.ConversationID)
	if err == nil && c.Kind != parley.KindChannel {
		e.ConversationID = r.ConversationID
		var drop bool
		if e, drop = a.withoutBlocked(ctx, r.UserID, e); drop {
			return
		}
	} else {
		e.UserIDs = []string{r.UserID}
	}
	a.publish(context.WithoutCancel(ctx), e)
}

// Receipts lists every member's receipt in a conversation, so a group shows
// who has read up to where and a sender sees how far each recipient got.
// Errors: unauthenticated; invalid conversation_id; not_found for a
// conversation actor is not a member of.
func (a *App) Receipts(ctx context.Context, actor parley.Actor, conversationID string) ([]parley.Receipt, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	if !parley.ValidID(conversationID) {
		return nil, parley.Invalid("conversation_id", "conversation_id must be a conversation id")
	}
	if err := a.memberOf(ctx, actor, conversationID); err != nil {
		return nil, err
	}
	return a.store.Receipts(ctx, conversationID)
}

// memberOf returns nil if actor is a member of conversationID, else
// CodeNotFound (a private conversation's existence is private).
func (a *App) memberOf(ctx context.Context, actor parley.Actor, conversationID string) error {
	_, err := a.store.Member(ctx, conversationID, actor.UserID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.Errorf(parley.CodeNotFound, "conversation not found")
	}
	return err
}
