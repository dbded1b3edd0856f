package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// PostingCacheTTL bounds how long a node trusts a posting state it read.
// Changes are forgotten at once on the node that made them and, through
// EventPostingChanged and the membership events, on every other node; the
// TTL is the backstop for an event the bus lost (it is at-most-once).
const PostingCacheTTL = 10 * time.Second

// maxPostingEntries bounds the posting states kept; past it the cache
// starts over.
const maxPostingEntries = 50_000

// postingCache keeps parley.PostingState per (conversation, member) for
// the send path, which would otherwise read the store on every send.
// States of non-members, and of conversations in slow mode (whose clock
// moves on every post), are never kept. A state read before a change is
// never stored after it: gen counts forgets, and a put whose read began
// under an older gen is dropped.
type postingCache struct {
	mu    sync.Mutex
	convs map[string]map[string]postingEntry
	n     int
	gen   uint64
}

type postingEntry struct {
	st parley.PostingState
	at time.Time
}

func (c *postingCache) get(conv, user string, now time.Time) (parley.PostingState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.convs[conv][user]
	if !ok || now.Sub(e.at) >= PostingCacheTTL || now.Before(e.at) {
		return parley.PostingState{}, false
	}
	return e.st, true
}

func (c *postingCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *postingCache) put(conv, user string, st parley.PostingState, at time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.convs == nil || c.n >= maxPostingEntries {
		c.convs, c.n = map[string]map[string]postingEntry{}, 0
	}
	m := c.convs[conv]
	if m == nil {
		m = map[string]postingEntry{}
		c.convs[conv] = m
	}
	if _, ok := m[user]; !ok {
		c.n++
	}
	m[user] = postingEntry{st: st, at: at}
}

// forget drops the states of one conversation ("" : all of them).
func (c *postingCache) forget(conv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if conv == "" {
		c.convs, c.n = nil, 0
		return
	}
	c.n -= len(c.convs[conv])
	delete(c.convs, conv)
}

// postingState returns what parley.AdmitPost needs, from the cache when
// it holds a fresh state. Errors as parley.ModerationStore.PostingState.
func (a *App) postingState(ctx context.Context, convID, userID string) (parley.PostingState, error) {
	now := a.now()
	if st, ok := a.posting.get(convID, userID, now); ok {
		return st, nil
	}
	gen := a.posting.generation()
	st, err := a.store.PostingState(ctx, convID, userID)
	if err == nil && st.Role != "" && st.Rules.SlowModeSeconds == 0 {
		a.posting.put(convID, userID, st, now, gen)
	}
	return st, err
}

// postingChanged forgets convID's posting states here and tells the other
// nodes to (EventPostingChanged). Call it after the change is stored.
func (a *App) postingChanged(ctx context.Context, convID string) {
	a.publish(context.WithoutCancel(ctx), parley.Event{Kind: parley.EventPostingChanged,
		ConversationID: parley.PostingTopic(convID)})
}

// HandleEvent takes the bus events the app itself reacts to: changes that
// make kept posting states or kept sessions (authcache.go) stale (on any
// node), and new messages for the outgoing webhooks. Subscribe it to the
// Bus once per App.
func (a *App) HandleEvent(e parley.Event) {
	if e.Kind == parley.EventMessage {
		a.HandleWebhookEvent(e)
		return
	}
	a.posting.forgetFor(e)
	a.auth.forgetFor(e)
}

// forgetFor forgets the posting states e makes stale. a.publish calls it
// too, so the node that made a change applies it before the bus carries it.
func (c *postingCache) forgetFor(e parley.Event) {
	switch e.Kind {
	case parley.EventPostingChanged:
		if conv, ok := strings.CutPrefix(e.ConversationID, parley.PostingTopic("")); ok && conv != "" {
			c.forget(conv)
		}
	case parley.EventMemberJoined, parley.EventMemberLeft, parley.EventMemberUpdated, parley.EventConversationUpdated:
		if e.ConversationID != "" {
			c.forget(e.ConversationID)
		}
	case EventBlocks:
		// A block ends direct conversations for both users; which ones is
		// not in the event, and blocks are rare: start over.
		c.forget("")
	}
}
