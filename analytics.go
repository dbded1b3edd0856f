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
	Responses      int64 // messages of UserID that were responses (responsetime.go)
	ResponseMillis int64 // the sum of their response times
}

// StatsRow is one stored counter row.
type StatsRow struct {
	Hour           int64
	UserID         string
	Messages       int64
	Reactions      int64
	Responses      int64
	ResponseMillis int64
}

// StatsHour returns the counter hour of t.
func StatsHour(t time.Time) int64 { return t.Unix() / 3600 }

// StatsPoint is the activity of one hour or day.
type StatsPoint struct {
	At            time.Time `json:"at"` // start of the hour or day (UTC)
	Messages      int64     `json:"messages"`
	Reactions     int64     `json:"reactions"`
	ActiveMembers int       `json:"active_members"` // distinct users who posted or reacted
	// Responses counts the responses of the hour or day; ResponseMedianMS
	// and ResponseP90MS are their response times from the histogram (0
	// when there is none).
	Responses        int64 `json:"responses"`
	ResponseMedianMS int64 `json:"response_median_ms"`
	ResponseP90MS    int64 `json:"response_p90_ms"`
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
	// ResponseTime is the median and p90 response time of the range;
	// TopResponders the members with the most responses (then the fastest
	// average first), at most MaxTopPosters.
	ResponseTime  ResponseStats   `json:"response_time"`
	TopResponders []ResponderStat `json:"top_responders"`
}

// Analytics bounds.
const (
	MaxStatsDays  = 366
	MaxHourlyDays = 7
	MaxTopPosters = 10
)

// AggregateStats sums counter rows and response histogram rows of hours in
// [from, to) (both on the hour) into a conversation's figures.
func AggregateStats(convID string, from, to time.Time, rows []StatsRow, resp []ResponseRow) ConversationStats {
	st := ConversationStats{ConversationID: convID, From: from, To: to, Daily: []StatsPoint{}, Hourly: []StatsPoint{},
		TopPosters: []PosterCount{}, TopResponders: []ResponderStat{}}
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
	responders := map[string]*ResponderStat{}
	active := map[string]bool{}
	for _, r := range rows {
		if r.Hour < fromH || r.Hour >= toH {
			continue
		}
		if r.Responses > 0 {
			rs := responders[r.UserID]
			if rs == nil {
				rs = &ResponderStat{UserID: r.UserID}
				responders[r.UserID] = rs
			}
			rs.Responses += r.Responses
			rs.AverageMS += r.ResponseMillis // the sum until divided below
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
	for _, rs := range responders {
		rs.AverageMS /= rs.Responses
		st.TopResponders = append(st.TopResponders, *rs)
	}
	sort.Slice(st.TopResponders, func(i, j int) bool {
		a, b := st.TopResponders[i], st.TopResponders[j]
		if a.Responses != b.Responses {
			return a.Responses > b.Responses
		}
		return a.AverageMS < b.AverageMS || a.AverageMS == b.AverageMS && a.UserID < b.UserID
	})
	if len(st.TopResponders) > MaxTopPosters {
		st.TopResponders = st.TopResponders[:MaxTopPosters]
	}
	aggregateResponses(&st, fromH, toH, hourly, resp)
	return st
}

// aggregateResponses fills the response figures from the histogram rows.
func aggregateResponses(st *ConversationStats, fromH, toH int64, hourly bool, resp []ResponseRow) {
	var all [ResponseBuckets]int64
	daily := make([][ResponseBuckets]int64, len(st.Daily))
	var hours [][ResponseBuckets]int64
	if hourly {
		hours = make([][ResponseBuckets]int64, len(st.Hourly))
	}
	for _, r := range resp {
		if r.Hour < fromH || r.Hour >= toH || r.Bucket < 0 || r.Bucket >= ResponseBuckets {
			continue
		}
		all[r.Bucket] += r.Count
		daily[(r.Hour-fromH)/24][r.Bucket] += r.Count
		if hourly {
			hours[r.Hour-fromH][r.Bucket] += r.Count
		}
	}
	st.ResponseTime = responseStats(&all)
	point := func(p *StatsPoint, hist *[ResponseBuckets]int64) {
		rs := responseStats(hist)
		p.Responses, p.ResponseMedianMS, p.ResponseP90MS = rs.Responses, rs.MedianMS, rs.P90MS
	}
	for i := range daily {
		point(&st.Daily[i], &daily[i])
	}
	for i := range hours {
		point(&st.Hourly[i], &hours[i])
	}
}

// StatsStore keeps the analytics counters.
type StatsStore interface {
	// AddStats adds each delta to its (conversation, hour, user) counter,
	// and each response delta to its (conversation, hour, bucket) counter,
	// creating them at zero first; additions from many nodes add up.
	AddStats(ctx context.Context, deltas []StatsDelta, responses []ResponseDelta) error
	// StatsRows returns the conversation's counter rows of hours in
	// [fromHour, toHour), in no particular order.
	StatsRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]StatsRow, error)
	// ResponseRows returns the conversation's response histogram counters
	// of hours in [fromHour, toHour), in no particular order.
	ResponseRows(ctx context.Context, conversationID string, fromHour, toHour int64) ([]ResponseRow, error)
}
