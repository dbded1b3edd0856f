package parley

import (
	"context"
	"sort"
	"time"
)

// Conversation analytics are counters, not scans: every user message and
// every added reaction adds one to a (conversation, hour, user) counter, and
// the figures are sums over those counters (docs/moderation.md, Analytics).

// StatsDelta is an increment of one counter row.
type StatsDelta struct {
	ConversationID string
	Hour           int64 // Unix time / 3600
	UserID         string
	Messages       int64
	Reactions      int64
}

// StatsRow is one stored counter row.
type StatsRow struct {
	Hour      int64
	UserID    string
	Messages  int64
	Reactions int64
}

// StatsHour returns the counter hour of t.
func StatsHour(t time.Time) int64 { return t.Unix() / 3600 }

// StatsPoint is the activity of one hour or day.
type StatsPoint struct {
	At            time.Time `json:"at"` // start of the hour or day (UTC)
	Messages      int64     `json:"messages"`
	Reactions     int64     `json:"reactions"`
	ActiveMembers int       `json:"active_members"` // distinct users who posted or reacted
}

// PosterCount is one user's messages in the range.
type PosterCount struct {
	UserID   string `json:"user_id"`
	Messages int64  `json:"messages"`
}

// ConversationStats are a conversation's figures over [From, To).
type ConversationStats struct {
	ConversationID string        `json:"conversation_id"`
	From           time.Time     `json:"from"`
	To             time.Time     `json:"to"`
	Messages       int64         `json:"messages"`
	Reactions      int64         `json:"reactions"`
	ActiveMembers  int           `json:"active_members"`
	Daily          []StatsPoint  `json:"daily"`  // every day of the range, oldest first
	Hourly         []StatsPoint  `json:"hourly"` // every hour of the range when it spans at most MaxHourlyDays, else empty
	HourOfDay      [24]int64     `json:"hour_of_day"`
	TopPosters     []PosterCount `json:"top_posters"` // most messages first, at most MaxTopPosters
}

// Analytics bounds.
const (
	MaxStatsDays  = 366
	MaxHourlyDays = 7
	MaxTopPosters = 10
)

// AggregateStats sums counter rows of hours in [from, to) (both on the
// hour) into a conversation's figures.
func AggregateStats(convID string, from, to time.Time, rows []StatsRow) ConversationStats {
	st := ConversationStats{ConversationID: convID, From: from, To: to, Daily: []StatsPoint{}, Hourly: []StatsPoint{},
		TopPosters: []PosterCount{}}
	fromH, toH := StatsHour(from), StatsHour(to)
	days := int((toH - fromH + 23) / 24)
	st.Daily = make([]StatsPoint, days)
	dayUsers := make([]map[string]bool, days)
	for i := range st.Daily {
		st.Daily[i].At = from.Add(time.Duration(i) * 24 * time.Hour)
		dayUsers[i] = map[string]bool{}
	}
	hourly := to.Sub(from) <= MaxHourlyDays*24*time.Hour
	var hourUsers []map[string]bool
	if hourly {
		st.Hourly = make([]StatsPoint, toH-fromH)
		hourUsers = make([]map[string]bool, len(st.Hourly))
		for i := range st.Hourly {
			st.Hourly[i].At = from.Add(time.Duration(i) * time.Hour)
			hourUsers[i] = map[string]bool{}
		}
	}
	posters := map[string]int64{}
	active := map[string]bool{}
	for _, r := range rows {
		if r.Hour < fromH || r.Hour >= toH {
			continue
		}
		st.Messages += r.Messages
		st.Reactions += r.Reactions
		d := int(r.Hour-fromH) / 24
		st.Daily[d].Messages += r.Messages
		st.Daily[d].Reactions += r.Reactions
		dayUsers[d][r.UserID] = true
		if hourly {
			h := int(r.Hour - fromH)
			st.Hourly[h].Messages += r.Messages
			st.Hourly[h].Reactions += r.Reactions
			hourUsers[h][r.UserID] = true
		}
		st.HourOfDay[r.Hour%24] += r.Messages
		if r.Messages > 0 {
			posters[r.UserID] += r.Messages
		}
		active[r.UserID] = true
	}
	for i := range st.Daily {
		st.Daily[i].ActiveMembers = len(dayUsers[i])
	}
	for i := range st.Hourly {
		st.Hourly[i].ActiveMembers = len(hourUsers[i])
	}
	st.ActiveMembers = len(active)
	for id, n := range posters {
		st.TopPosters = append(st.TopPosters, PosterCount{UserID: id, Messages: n})
	}
	sort.Slice(st.TopPosters, func(i, j int) bool {
		a, b := st.TopPosters[i], st.TopPosters[j]
		return a.Messages > b.Messages || a.Messages == b.Messages && a.UserID < b.UserID
	})
	if len(st.TopPosters) > MaxTopPosters {
		st.TopPosters = st.TopPosters[:MaxTopPosters]
	}
	return st
}

// StatsStore keeps the analytics counters.
type StatsStore interface {
	// AddStats adds each delta to its (conversation, hour, user) counter,
	// creating it at zero first; additions from many nodes add up.
	AddStats(ctx context.Context, deltas []StatsDelta) error
	// StatsRows returns the conversation's counter rows of hours in
	// [fromHour, toHour), in no particular order.
	StatsRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]StatsRow, error)
}
