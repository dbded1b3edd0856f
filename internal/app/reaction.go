package app

import (
	"context"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// MaxEmojiBytes bounds one reaction's emoji (a flag or a family emoji with
// skin tones and joiners is up to ~35 bytes).
const MaxEmojiBytes = 64

// CheckEmoji validates a reaction: non-empty valid UTF-8 of at most
// MaxEmojiBytes, with no spaces, control characters or '/'. Any short
// symbol is accepted (custom shortcodes like ":party:" too).
func CheckEmoji(emoji string) error {
	if emoji == "" {
		return parley.Invalid("emoji", "emoji is required")
	}
	if len(emoji) > MaxEmojiBytes {
		return parley.TooLarge("emoji", "emoji must be at most %d bytes", MaxEmojiBytes)
	}
	if !utf8.ValidString(emoji) {
		return parley.Invalid("emoji", "emoji must be valid UTF-8")
	}
	for _, r := range emoji {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' {
			return parley.Invalid("emoji", "emoji must not contain spaces, control characters or '/'")
		}
	}
	return nil
}

// React adds (add=true) or removes actor's emoji reaction on a live message
// and returns the message's reactions after the change; a `reaction` event
// is published. Adding twice or removing an absent reaction changes
// nothing: no write, no event, the current reactions are returned.
// Errors: unauthenticated; invalid (emoji, seq); not_found (conversation,
// missing or deleted message); forbidden (non-member of a public channel);
// too_large (a new emoji beyond MaxReactionsPerMsg).
func (a *App) React(ctx context.Context, actor parley.Actor, convID string, seq int64, emoji string, add bool) ([]parley.Reaction, error) {
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return nil, err
	}
	if err := CheckEmoji(emoji); err != nil {
		return nil, err
	}
	if seq <= 0 {
		return nil, parley.Invalid("seq", "seq must be positive")
	}
	// Nothing to change: answer from a read, without the write path. (A
	// race with another device's change is settled by the store, which
	// publishes only when a row changed.)
	m, err := a.store.Message(ctx, convID, seq)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && m.Deleted {
		return nil, parley.Errorf(parley.CodeNotFound, "message not found")
	}
	if err != nil {
		return nil, err
	}
	if hasReaction(m.Reactions, emoji, actor.UserID) == add {
		if m.Reactions == nil {
			m.Reactions = []parley.Reaction{}
		}
		return m.Reactions, nil
	}
	rs, err := a.store.React(ctx, convID, seq, actor.UserID, emoji, add, a.limits.MaxReactionsPerMsg, a.now().UTC(),
		func(rs []parley.Reaction) {
			a.publishReaction(convID, seq, actor.UserID, emoji, add, rs)
			if add {
				a.stats.add(parley.StatsDelta{ConversationID: convID, Hour: parley.StatsHour(a.now()), UserID: actor.UserID, Reactions: 1})
			}
		})
	if parley.IsCode(err, parley.CodeNotFound) {
		return nil, parley.Errorf(parley.CodeNotFound, "message not found")
	}
	return rs, err
}

// hasReaction reports whether userID's emoji is among rs.
func hasReaction(rs []parley.Reaction, emoji, userID string) bool {
	for _, r := range rs {
		if r.Emoji == emoji {
			return slices.Contains(r.UserIDs, userID)
		}
	}
	return false
}
