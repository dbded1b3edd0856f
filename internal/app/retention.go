package app

import (
	"context"
	"strconv"
	"time"

	"github.com/parley-chat/parley"
)

// Retention (docs/data.md): a conversation's owners and admins may make it
// forget messages older than N days; server admins may put a conversation
// on legal hold, which suspends that deletion until lifted (audited).
// ApplyRetention, run on a schedule by the server, does the deleting.

// Retention returns a conversation's policy to anyone who can see the
// conversation, and to server admins.
func (a *App) Retention(ctx context.Context, actor parley.Actor, convID string) (parley.RetentionPolicy, error) {
	if actor.Admin() {
		if err := checkConversationID(convID); err != nil {
			return parley.RetentionPolicy{}, err
		}
		if _, err := a.store.Conversation(ctx, convID); parley.IsCode(err, parley.CodeNotFound) {
			return parley.RetentionPolicy{}, notFoundConversation()
		} else if err != nil {
			return parley.RetentionPolicy{}, err
		}
	} else if _, _, err := a.access(ctx, actor, convID); err != nil {
		return parley.RetentionPolicy{}, err
	}
	return a.store.Retention(ctx, convID)
}

// SetRetention sets how many days a conversation keeps its messages (0:
// forever). Owners and admins of the conversation only (CodeForbidden for
// members, CodeNotFound for those who cannot see it); field days must be
// 0–RetentionMaxDays.
func (a *App) SetRetention(ctx context.Context, actor parley.Actor, convID string, days int) (parley.RetentionPolicy, error) {
	_, m, err := a.access(ctx, actor, convID)
	if err != nil {
		return parley.RetentionPolicy{}, err
	}
	if m == nil {
		return parley.RetentionPolicy{}, forbidden("join the channel first")
	}
	if m.Role != parley.RoleOwner && m.Role != parley.RoleAdmin {
		return parley.RetentionPolicy{}, forbidden("only the conversation's owners and admins may set its retention")
	}
	if days < 0 || days > parley.RetentionMaxDays {
		return parley.RetentionPolicy{}, parley.Invalid("days", "days must be 0 (keep forever) to %d", parley.RetentionMaxDays)
	}
	if err := a.store.SetRetentionDays(ctx, convID, days, a.now().UTC().Truncate(time.Millisecond)); err != nil {
		return parley.RetentionPolicy{}, err
	}
	a.log.Info("retention set", "conversation_id", convID, "user_id", actor.UserID, "days", days)
	return a.store.Retention(ctx, convID)
}

// SetLegalHold puts a conversation on legal hold (or lifts it): while held,
// retention deletes nothing there. Server admins only; audited as
// conversation.legal_hold / conversation.legal_hold_lifted.
func (a *App) SetLegalHold(ctx context.Context, actor parley.Actor, convID string, hold bool) (parley.RetentionPolicy, error) {
	if err := requireAdmin(actor); err != nil {
		return parley.RetentionPolicy{}, err
	}
	if err := checkConversationID(convID); err != nil {
		return parley.RetentionPolicy{}, err
	}
	c, err := a.store.Conversation(ctx, convID)
	if parley.IsCode(err, parley.CodeNotFound) {
		return parley.RetentionPolicy{}, notFoundConversation()
	} else if err != nil {
		return parley.RetentionPolicy{}, err
	}
	if err := a.store.SetLegalHold(ctx, convID, hold, a.now().UTC().Truncate(time.Millisecond)); err != nil {
		return parley.RetentionPolicy{}, err
	}
	action := "conversation.legal_hold"
	if !hold {
		action = "conversation.legal_hold_lifted"
	}
	a.audit(ctx, actor, action, convID, c.Title, "")
	return a.store.Retention(ctx, convID)
}

// ApplyRetention deletes, in every conversation with a policy and no legal
// hold, the messages older than its days before now. It returns how many
// messages it deleted; one conversation's failure is logged and the others
// go on.
func (a *App) ApplyRetention(ctx context.Context, now time.Time) (int, error) {
	due, err := a.store.DueRetention(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, p := range due {
		cut := now.Add(-time.Duration(p.Days) * 24 * time.Hour)
		n, err := a.store.PurgeHistory(ctx, p.ConversationID, cut, now.UTC().Truncate(time.Millisecond))
		if err != nil {
			a.log.Warn("retention failed", "conversation_id", p.ConversationID, "err", err)
			continue
		}
		if n > 0 {
			total += n
			a.log.Info("retention deleted messages", "conversation_id", p.ConversationID, "count", n,
				"older_than", strconv.Itoa(p.Days)+"d")
		}
	}
	return total, nil
}
