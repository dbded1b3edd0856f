package parley

import (
	"testing"
	"time"
)

// TestResponseBuckets: every gap up to MaxResponseGap falls in a bucket
// whose reported value is within the documented bound of it (a factor
// 2^(1/4), or 0.5 s below 1 s), and buckets never go down as gaps grow.
func TestResponseBuckets(t *testing.T) {
	prev := 0
	for ms := int64(0); ms <= MaxResponseGap.Milliseconds(); ms += 1 + ms/97 {
		b := ResponseBucket(ms)
		if b < prev || b >= ResponseBuckets {
			t.Fatalf("gap %d ms: bucket %d after %d", ms, b, prev)
		}
		prev = b
		v := float64(ResponseBucketValue(b))
		if ms < 1000 {
			if b != 0 || v != 500 {
				t.Fatalf("gap %d ms: bucket %d value %v", ms, b, v)
			}
			continue
		}
		if r := v / float64(ms); r > 1.1893 || r < 1/1.1893 {
			t.Fatalf("gap %d ms: reported %v (ratio %.3f)", ms, v, r)
		}
	}
	if b := ResponseBucket(MaxResponseGap.Milliseconds()); b != ResponseBuckets-1 {
		t.Fatalf("24 h in bucket %d, want the last", b)
	}
	if ResponseBucket(999) != 0 || ResponseBucket(1000) != 1 || ResponseBucket(1413) != 1 || ResponseBucket(1414) != 2 {
		t.Fatal("bucket edges")
	}
}

func TestResponseQuantile(t *testing.T) {
	var h [ResponseBuckets]int64
	if _, ok := ResponseQuantile(&h, 0.5); ok {
		t.Fatal("empty histogram has a median")
	}
	// 5 gaps of ~2 s, 4 of ~1 min, 1 of ~1 h: median 2 s, p90 1 min.
	h[ResponseBucket(2000)] = 5
	h[ResponseBucket(60_000)] = 4
	h[ResponseBucket(3_600_000)] = 1
	if m, _ := ResponseQuantile(&h, 0.5); m != ResponseBucketValue(ResponseBucket(2000)) {
		t.Fatalf("median %d", m)
	}
	if p, _ := ResponseQuantile(&h, 0.9); p != ResponseBucketValue(ResponseBucket(60_000)) {
		t.Fatalf("p90 %d", p)
	}
	if p, _ := ResponseQuantile(&h, 1); p != ResponseBucketValue(ResponseBucket(3_600_000)) {
		t.Fatalf("max %d", p)
	}
}

// TestAppendedResponses: Appended keeps the previous user message in the
// head and marks responses by the rule of responsetime.go.
func TestAppendedResponses(t *testing.T) {
	var h AppendHead
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := func(sender string, kind MessageKind, after time.Duration) (time.Duration, bool) {
		at = at.Add(after)
		m := Message{SenderID: sender, Kind: kind, CreatedAt: at}
		Appended(&h, &m, h.LastSeq+1)
		return m.ResponseGap()
	}
	check := func(name string, gap time.Duration, ok bool, want time.Duration, wantOK bool) {
		t.Helper()
		if gap != want || ok != wantOK {
			t.Fatalf("%s: %v %v, want %v %v", name, gap, ok, want, wantOK)
		}
	}
	g, ok := step("a", MessageUser, 0)
	check("first", g, ok, 0, false)
	g, ok = step("b", MessageSystem, time.Second)
	check("system", g, ok, 0, false)
	g, ok = step("b", MessageUser, time.Second)
	check("reply", g, ok, 2*time.Second, true)
	g, ok = step("b", MessageUser, time.Second)
	check("same sender", g, ok, 0, false)
	g, ok = step("a", MessageUser, MaxResponseGap+time.Millisecond)
	check("too late", g, ok, 0, false)
	if h.LastUser != "a" || h.LastUserAt != at.UnixMilli() {
		t.Fatalf("head %+v", h)
	}
}

func TestAggregateStatsResponses(t *testing.T) {
	from := time.Unix(1000*3600, 0).UTC()
	to := from.Add(48 * time.Hour)
	rows := []StatsRow{
		{Hour: 1000, UserID: "a", Messages: 3, Responses: 2, ResponseMillis: 4000},
		{Hour: 1030, UserID: "a", Messages: 1, Responses: 1, ResponseMillis: 8000},
		{Hour: 1001, UserID: "b", Messages: 5, Responses: 3, ResponseMillis: 3000},
		{Hour: 1001, UserID: "c", Messages: 1},
		{Hour: 999, UserID: "d", Messages: 1, Responses: 9, ResponseMillis: 9}, // before the range
	}
	resp := []ResponseRow{
		{Hour: 1000, Bucket: ResponseBucket(1000), Count: 3},
		{Hour: 1001, Bucket: ResponseBucket(2000), Count: 2},
		{Hour: 1030, Bucket: ResponseBucket(8000), Count: 1},
		{Hour: 999, Bucket: 0, Count: 50}, // before the range
	}
	st := AggregateStats("c", from, to, rows, resp)
	if st.ResponseTime.Responses != 6 || st.ResponseTime.MedianMS != ResponseBucketValue(ResponseBucket(1000)) ||
		st.ResponseTime.P90MS != ResponseBucketValue(ResponseBucket(8000)) {
		t.Fatalf("response time %+v", st.ResponseTime)
	}
	want := []ResponderStat{{UserID: "a", Responses: 3, AverageMS: 4000}, {UserID: "b", Responses: 3, AverageMS: 1000}}
	want[0], want[1] = want[1], want[0] // equal counts: the faster first
	if len(st.TopResponders) != 2 || st.TopResponders[0] != want[0] || st.TopResponders[1] != want[1] {
		t.Fatalf("top responders %+v", st.TopResponders)
	}
	if d := st.Daily[0]; d.Responses != 5 || d.ResponseMedianMS != ResponseBucketValue(ResponseBucket(1000)) {
		t.Fatalf("day 0 %+v", d)
	}
	if d := st.Daily[1]; d.Responses != 1 || d.ResponseP90MS != ResponseBucketValue(ResponseBucket(8000)) {
		t.Fatalf("day 1 %+v", d)
	}
	if h := st.Hourly[1]; h.Responses != 2 || h.ResponseMedianMS != ResponseBucketValue(ResponseBucket(2000)) {
		t.Fatalf("hour 1 %+v", h)
	}
	if empty := AggregateStats("c", from, to, nil, nil); empty.ResponseTime != (ResponseStats{}) || empty.TopResponders == nil {
		t.Fatalf("empty %+v", empty)
	}
}
