package app

import (
	"context"
	"math"
	"time"

	"github.com/parley-chat/parley"
)

// social holds the rate limits of search and contacts.
type social struct {
	searches *Limiter // message and people searches per user
	requests *Limiter // contact requests sent per user (contact.go)
}

// Rates of social: searches 5/s sustained (bursts of 20) per user; contact
// requests 1 per 10 s sustained (bursts of 20) per user.
func newSocial(now func() time.Time) *social {
	return &social{
		searches: NewLimiter(5, 20, now),
		requests: NewLimiter(0.1, 20, now),
	}
}

func (a *App) allowSearch(actor parley.Actor) error {
	if ok, wait := a.social.searches.Allow(actor.UserID); !ok {
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait, Message: "you are searching too fast"}
	}
	return nil
}

// SearchMessagesInput is a message search: Query in the syntax of
// parley.ParseSearch, Order "" (recent) or a parley.SearchOrder, Cursor ""
// or the Next of the previous page, Limit 0 for DefaultSearchLimit.
type SearchMessagesInput struct {
	Query  string
	Order  string
	Cursor string
	Limit  int
}

// SearchMessages finds messages in the conversations actor is a current
// member of (never in conversations they left or were removed from). The
// next-page cursor is "" on the last page (a page may be empty). Errors:
// unauthenticated; invalid naming q (see parley.ParseSearch), order, cursor
// or limit; too_large (q); not_found for an in: conversation actor is not a
// member of; rate_limited.
func (a *App) SearchMessages(ctx context.Context, actor parley.Actor, in SearchMessagesInput) ([]parley.SearchHit, string, error) {
	if actor.Anonymous() {
		return nil, "", unauthenticated("sign in first")
	}
	p, err := parley.ParseSearch(in.Query)
	if err != nil {
		return nil, "", err
	}
	order := parley.SearchOrder(in.Order)
	if order == "" {
		order = parley.SearchRecent
	}
	if !order.Valid() {
		return nil, "", parley.Invalid("order", "order must be recent or relevance")
	}
	limit := in.Limit
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return nil, "", parley.Invalid("limit", "limit must be between 1 and %d", MaxSearchLimit)
	}
	q := parley.MessageSearch{UserID: actor.UserID, Terms: p.Terms, ConversationID: p.In, Has: p.Has,
		Since: p.After, Until: p.Before, Order: order, Limit: limit}
	if in.Cursor != "" {
		parts, err := decodeCursor(in.Cursor, 2)
		if err != nil {
			return nil, "", err
		}
		if parts[0] != string(order) || parts[1] == "" {
			return nil, "", parley.Invalid("cursor", "cursor belongs to a search in another order")
		}
		q.Cursor = parts[1]
	}
	if p.MentionsMe {
		q.MentionsUserID = actor.UserID
	}
	if err := a.allowSearch(actor); err != nil {
		return nil, "", err
	}
	if p.In != "" {
		if err := a.IsMember(ctx, actor, p.In); err != nil {
			return nil, "", err
		}
	}
	if p.From != "" {
		u, err := a.store.UserByUsername(ctx, p.From)
		if parley.IsCode(err, parley.CodeNotFound) {
			return []parley.SearchHit{}, "", nil // nobody by that name: nothing from them
		}
		if err != nil {
			return nil, "", err
		}
		q.SenderID = u.ID
	}
	ms, next, err := a.store.SearchMessages(ctx, q)
	if err != nil {
		return nil, "", err
	}
	hits := make([]parley.SearchHit, len(ms))
	for i, m := range ms {
		hits[i] = parley.SearchHit{Message: m, Snippet: parley.Snippet(m.Body, p.Terms, parley.SearchSnippetChars)}
	}
	if next != "" {
		next = encodeCursor(string(order), next)
	}
	return hits, next, nil
}

// HistoryAround returns the messages around seq for "jump to message": up
// to limit messages, oldest first, with seq itself and about half of the
// rest before it. limit 0 means DefaultPageLimit. Errors: as History, and
// invalid (seq) for a seq that is not positive; a seq beyond the end gives
// the newest messages.
func (a *App) HistoryAround(ctx context.Context, actor parley.Actor, convID string, seq int64, limit int) ([]parley.Message, error) {
	if _, _, err := a.member(ctx, actor, convID); err != nil {
		return nil, err
	}
	if seq <= 0 {
		return nil, parley.Invalid("seq", "seq must be positive")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	seq = min(seq, math.MaxInt64-1)
	before := limit/2 + 1 // seq itself and the ones before it
	older, err := a.store.History(ctx, convID, parley.HistoryQuery{Before: seq + 1, Limit: before})
	if err != nil {
		return nil, err
	}
	out := make([]parley.Message, 0, limit)
	for i := len(older) - 1; i >= 0; i-- {
		out = append(out, older[i])
	}
	if rest := limit - len(out); rest > 0 {
		newer, err := a.store.History(ctx, convID, parley.HistoryQuery{After: seq, Limit: rest})
		if err != nil {
			return nil, err
		}
		out = append(out, newer...)
	}
	return out, nil
}
