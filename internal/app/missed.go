package app

import (
	"context"

	"github.com/parley-chat/parley"
)

// Bounds of App.Missed: the ranges of one read, the messages one range and
// all of them may name.
const (
	MaxMissedRanges   = 2000
	MaxMissedPerRange = MaxPageLimit
	MaxMissedMessages = 1000
)

// Missed returns, in one store read, the messages of several of actor's
// conversations: for each range in the order given, those with After <
// seq <= Until, oldest first, with their reactions. A range of a
// conversation actor is not a member of (unknown, never joined, left, or
// removed by a commit the read sees) gives nothing, as History gives a
// non-member nothing; a reconnecting client that lost a conversation
// learns it from its sync state. Errors: unauthenticated; invalid (an
// empty or malformed conversation id, a negative After, Until <= After,
// a conversation named twice); too_large (more than MaxMissedRanges
// ranges, a range of more than MaxMissedPerRange seqs, more than
// MaxMissedMessages seqs in all).
func (a *App) Missed(ctx context.Context, actor parley.Actor, ranges []parley.SeqRange) ([]parley.Message, error) {
	if err := checkMissed(actor, ranges); err != nil {
		return nil, err
	}
	return a.store.Missed(ctx, actor.UserID, ranges)
}

// checkMissed returns Missed's errors that need no read.
func checkMissed(actor parley.Actor, ranges []parley.SeqRange) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if len(ranges) > MaxMissedRanges {
		return parley.TooLarge("ranges", "at most %d conversations at once", MaxMissedRanges)
	}
	var total int64
	seen := make(map[string]struct{}, len(ranges))
	for _, r := range ranges {
		switch {
		case !parley.ValidID(r.ConversationID):
			return parley.Invalid("conversation_id", "not a conversation id")
		case r.After < 0:
			return parley.Invalid("after", "after must not be negative")
		case r.Until <= r.After:
			return parley.Invalid("until", "until must be greater than after")
		case r.Until-r.After > MaxMissedPerRange:
			return parley.TooLarge("until", "at most %d messages per conversation", MaxMissedPerRange)
		}
		if _, dup := seen[r.ConversationID]; dup {
			return parley.Invalid("conversation_id", "conversation %s named twice", r.ConversationID)
		}
		seen[r.ConversationID] = struct{}{}
		if total += r.Until - r.After; total > MaxMissedMessages {
			return parley.TooLarge("ranges", "at most %d messages at once", MaxMissedMessages)
		}
	}
	return nil
}
