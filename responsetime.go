package parley

import (
	"math"
	"sort"
	"time"
)

// Response times (docs/moderation.md, Analytics). A response is a user
// message whose sender differs from the sender of the conversation's
// previous user message; its response time is the gap between the two
// messages' CreatedAt, counted only when it is at most MaxResponseGap (a
// longer silence starts a new conversation, it is not a reply). System
// messages are not messages here: they neither respond nor are responded
// to. The store's append transaction keeps the previous user message's
// sender and time in the conversation's head (AppendHead), so Appended
// decides it with no extra read.
//
// The gaps are counted in a fixed log-spaced histogram per (conversation,
// hour): bucket 0 is [0, 1 s); bucket i ≥ 1 is [1 s·2^((i-1)/2), 1 s·2^(i/2)),
// the last (33) ending at 25.7 h, past MaxResponseGap. A quantile is reported as the geometric
// middle of its bucket (0.5 s for bucket 0), so it is within a factor
// 2^(1/4) (±19 %) of the true value, or 0.5 s of it below 1 s.

// MaxResponseGap is the longest gap counted as a response.
const MaxResponseGap = 24 * time.Hour

// ResponseBuckets is the number of histogram buckets.
const ResponseBuckets = 34

// responseLows[i] is bucket i's lower bound in milliseconds.
var responseLows = func() [ResponseBuckets + 1]int64 {
	var lows [ResponseBuckets + 1]int64
	for i := 1; i <= ResponseBuckets; i++ {
		lows[i] = int64(math.Round(1000 * math.Pow(2, float64(i-1)/2)))
	}
	return lows
}()

// ResponseBucket returns the histogram bucket of a gap of ms milliseconds
// (0 ≤ ms ≤ MaxResponseGap).
func ResponseBucket(ms int64) int {
	// The first bucket whose lower bound is above ms, minus one.
	i := sort.Search(ResponseBuckets, func(i int) bool { return responseLows[i+1] > ms })
	return min(i, ResponseBuckets-1)
}

// ResponseBucketValue is the value reported for a quantile falling in
// bucket b, in milliseconds.
func ResponseBucketValue(b int) int64 {
	if b <= 0 {
		return 500
	}
	return int64(math.Round(math.Sqrt(float64(responseLows[b]) * float64(responseLows[b+1]))))
}

// ResponseQuantile returns the q-quantile (0 < q ≤ 1) of the histogram,
// in milliseconds, and false when it is empty.
func ResponseQuantile(hist *[ResponseBuckets]int64, q float64) (int64, bool) {
	var n int64
	for _, c := range hist {
		n += c
	}
	if n == 0 {
		return 0, false
	}
	rank := int64(math.Ceil(q * float64(n))) // 1-based rank of the quantile
	rank = max(rank, 1)
	var seen int64
	for b, c := range hist {
		seen += c
		if seen >= rank {
			return ResponseBucketValue(b), true
		}
	}
	return ResponseBucketValue(ResponseBuckets - 1), true
}

// ResponseGap returns the response time of a message just appended (set by
// Appended; never stored nor sent), and false when it is not a response.
func (m Message) ResponseGap() (time.Duration, bool) {
	if m.responseGap == 0 {
		return 0, false
	}
	return time.Duration(m.responseGap-1) * time.Millisecond, true
}

// respond updates h's previous user message with m (appended at Unix
// milliseconds at) and records on m whether it is a response.
func (h *AppendHead) respond(m *Message, at int64) {
	m.responseGap = 0
	if m.Kind != MessageUser {
		return
	}
	if h.LastUser != "" && h.LastUser != m.SenderID {
		if gap := max(at-h.LastUserAt, 0); gap <= MaxResponseGap.Milliseconds() {
			m.responseGap = gap + 1
		}
	}
	h.LastUser, h.LastUserAt = m.SenderID, at
}

// ResponseDelta adds Count responses to bucket Bucket of a conversation's
// histogram of hour Hour.
type ResponseDelta struct {
	ConversationID string
	Hour           int64
	Bucket         int
	Count          int64
}

// ResponseRow is one stored histogram counter.
type ResponseRow struct {
	Hour   int64
	Bucket int
	Count  int64
}

// ResponseStats summarise the response times of a range.
type ResponseStats struct {
	Responses int64 `json:"responses"`
	MedianMS  int64 `json:"median_ms"` // 0 when there is none
	P90MS     int64 `json:"p90_ms"`    // 0 when there is none
}

// ResponderStat is one member's responses in a range.
type ResponderStat struct {
	UserID    string `json:"user_id"`
	Responses int64  `json:"responses"`
	AverageMS int64  `json:"average_ms"` // exact mean (not bucketed)
}

func responseStats(hist *[ResponseBuckets]int64) ResponseStats {
	var st ResponseStats
	for _, c := range hist {
		st.Responses += c
	}
	st.MedianMS, _ = ResponseQuantile(hist, 0.5)
	st.P90MS, _ = ResponseQuantile(hist, 0.9)
	return st
}
