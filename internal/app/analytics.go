package app

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// StatsFlushEvery is how often RunStats writes the counters a node has
// gathered; a crash loses at most this much of the analytics (never a
// message).
const StatsFlushEvery = time.Second

type statsKey struct {
	conv, user string
	hour       int64
}

// statsBuffer gathers counter increments between flushes, so the send path
// only adds to a map (from the commit hook) and the store sees one upsert
// per (conversation, hour, user) per flush.
type statsBuffer struct {
	mu      sync.Mutex
	pending map[statsKey]*parley.StatsDelta
	hist    map[histKey]int64 // response histogram increments
	flushMu sync.Mutex        // one flush at a time
}

type histKey struct {
	conv   string
	hour   int64
	bucket int
}

func (b *statsBuffer) add(d parley.StatsDelta) {
	k := statsKey{conv: d.ConversationID, user: d.UserID, hour: d.Hour}
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[statsKey]*parley.StatsDelta{}
	}
	p := b.pending[k]
	if p == nil {
		p = &parley.StatsDelta{ConversationID: k.conv, Hour: k.hour, UserID: k.user}
		b.pending[k] = p
	}
	p.Messages += d.Messages
	p.Reactions += d.Reactions
	p.Responses += d.Responses
	p.ResponseMillis += d.ResponseMillis
	b.mu.Unlock()
}

func (b *statsBuffer) addResponse(d parley.ResponseDelta) {
	b.mu.Lock()
	if b.hist == nil {
		b.hist = map[histKey]int64{}
	}
	b.hist[histKey{conv: d.ConversationID, hour: d.Hour, bucket: d.Bucket}] += d.Count
	b.mu.Unlock()
}

// countMessage counts a stored user message (called from the commit hook),
// and its response time when the store's append found it is a response.
func (a *App) countMessage(m parley.Message) {
	if m.Kind != parley.MessageUser {
		return
	}
	d := parley.StatsDelta{ConversationID: m.ConversationID, Hour: parley.StatsHour(m.CreatedAt), UserID: m.SenderID, Messages: 1}
	if gap, ok := m.ResponseGap(); ok {
		d.Responses, d.ResponseMillis = 1, gap.Milliseconds()
		a.stats.addResponse(parley.ResponseDelta{ConversationID: d.ConversationID, Hour: d.Hour,
			Bucket: parley.ResponseBucket(gap.Milliseconds()), Count: 1})
	}
	a.stats.add(d)
}

// FlushStats writes the counters gathered since the last flush. On failure
// they are kept for the next one.
func (a *App) FlushStats(ctx context.Context) error {
	b := &a.stats
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	pending, hist := b.pending, b.hist
	b.pending, b.hist = nil, nil
	b.mu.Unlock()
	if len(pending) == 0 && len(hist) == 0 {
		return nil
	}
	deltas := make([]parley.StatsDelta, 0, len(pending))
	for _, d := range pending {
		deltas = append(deltas, *d)
	}
	resp := make([]parley.ResponseDelta, 0, len(hist))
	for k, n := range hist {
		resp = append(resp, parley.ResponseDelta{ConversationID: k.conv, Hour: k.hour, Bucket: k.bucket, Count: n})
	}
	sort.Slice(resp, func(i, j int) bool {
		x, y := resp[i], resp[j]
		if x.ConversationID != y.ConversationID {
			return x.ConversationID < y.ConversationID
		}
		if x.Hour != y.Hour {
			return x.Hour < y.Hour
		}
		return x.Bucket < y.Bucket
	})
	// One order on every node, so concurrent flushes lock rows alike.
	sort.Slice(deltas, func(i, j int) bool {
		x, y := deltas[i], deltas[j]
		if x.ConversationID != y.ConversationID {
			return x.ConversationID < y.ConversationID
		}
		if x.Hour != y.Hour {
			return x.Hour < y.Hour
		}
		return x.UserID < y.UserID
	})
	if err := a.store.AddStats(ctx, deltas, resp); err != nil {
		for _, d := range deltas { // keep them
			b.add(d)
		}
		for _, d := range resp {
			b.addResponse(d)
		}
		return err
	}
	return nil
}

// RunStats flushes the counters every StatsFlushEvery until ctx ends, then
// once more.
func (a *App) RunStats(ctx context.Context) {
	t := time.NewTicker(StatsFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := a.FlushStats(fctx); err != nil {
				a.log.Warn("analytics counters lost at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := a.FlushStats(ctx); err != nil {
				a.log.Warn("analytics flush failed; retrying", "err", err)
			}
		}
	}
}

// Analytics range bounds, in days.
const (
	DefaultStatsDays = 30
)

// ConversationStats returns a group's or channel's activity over the last
// days days (1..parley.MaxStatsDays, 0: DefaultStatsDays), ending with the
// current hour: messages and reactions per day (and per hour for ranges of
// at most a week), active members, top posters, and messages by hour of
// day, and response times (median and p90, per day and per hour too, and
// the top responders' averages). Owners and admins of the conversation and
// server admins only. It sums counters (no scan of the history).
// Errors: unauthenticated; invalid (conversation_id, days); not_found;
// forbidden.
func (a *App) ConversationStats(ctx context.Context, actor parley.Actor, convID string, days int) (parley.ConversationStats, error) {
	if days == 0 {
		days = DefaultStatsDays
	}
	if days < 1 || days > parley.MaxStatsDays {
		return parley.ConversationStats{}, parley.Invalid("days", "days must be between 1 and %d", parley.MaxStatsDays)
	}
	c, me, err := a.member(ctx, actor, convID)
	if err != nil && actor.Admin() && checkConversationID(convID) == nil {
		c, err = a.store.Conversation(ctx, convID)
		if parley.IsCode(err, parley.CodeNotFound) {
			err = notFoundConversation()
		}
		me.Role = parley.RoleOwner
	}
	if err != nil {
		return parley.ConversationStats{}, err
	}
	if !me.Role.Manager() && !actor.Admin() {
		return parley.ConversationStats{}, forbidden("only owners and admins see a conversation's analytics")
	}
	if err := a.FlushStats(ctx); err != nil {
		a.log.Warn("analytics flush failed", "err", err)
	}
	to := time.Unix((parley.StatsHour(a.now())+1)*3600, 0).UTC()
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	rows, err := a.store.StatsRows(ctx, c.ID, parley.StatsHour(from), parley.StatsHour(to))
	if err != nil {
		return parley.ConversationStats{}, err
	}
	resp, err := a.store.ResponseRows(ctx, c.ID, parley.StatsHour(from), parley.StatsHour(to))
	if err != nil {
		return parley.ConversationStats{}, err
	}
	return parley.AggregateStats(c.ID, from, to, rows, resp), nil
}
