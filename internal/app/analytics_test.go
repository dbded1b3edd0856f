package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestConversationStatsCountAtSend(t *testing.T) {
	ctx := context.Background()
	e := newMsgEnv(t, app.Limits{})
	o, m, x := e.user(t, "owner"), e.user(t, "member"), e.user(t, "outsider")
	g, _, _ := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g", MemberIDs: []string{m.UserID}})
	for range 3 {
		if _, err := send(e, m, g.ID, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(25 * time.Hour)
	last, _ := send(e, o, g.ID, "next day")
	if _, err := e.app.React(ctx, m, g.ID, last.Seq, "👍", true); err != nil {
		t.Fatal(err)
	}
	st, err := e.app.ConversationStats(ctx, o, g.ID, 7)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 4 || st.Reactions != 1 || st.ActiveMembers != 2 || len(st.Daily) != 7 || len(st.Hourly) != 7*24 {
		t.Fatalf("stats %+v", st)
	}
	if len(st.TopPosters) != 2 || st.TopPosters[0] != (parley.PosterCount{UserID: m.UserID, Messages: 3}) {
		t.Fatalf("top posters %+v", st.TopPosters)
	}
	if d := st.Daily[len(st.Daily)-1]; d.Messages != 1 || d.Reactions != 1 || d.ActiveMembers != 2 {
		t.Fatalf("today %+v", d)
	}
	if d := st.Daily[len(st.Daily)-2]; d.Messages != 3 || d.ActiveMembers != 1 {
		t.Fatalf("yesterday %+v (daily %+v)", d, st.Daily)
	}
	// Response times: the owner's message 25 h after the member's is a
	// new conversation, not a response; then replies 30 s and 90 s apart.
	if st.ResponseTime.Responses != 0 || len(st.TopResponders) != 0 {
		t.Fatalf("responses before any %+v %+v", st.ResponseTime, st.TopResponders)
	}
	e.clock.Add(30 * time.Second)
	if _, err := send(e, m, g.ID, "reply"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(90 * time.Second)
	if _, err := send(e, o, g.ID, "reply back"); err != nil {
		t.Fatal(err)
	}
	st, err = e.app.ConversationStats(ctx, o, g.ID, 7)
	if err != nil {
		t.Fatal(err)
	}
	if rt := st.ResponseTime; rt.Responses != 2 || rt.MedianMS != parley.ResponseBucketValue(parley.ResponseBucket(30_000)) ||
		rt.P90MS != parley.ResponseBucketValue(parley.ResponseBucket(90_000)) {
		t.Fatalf("response time %+v", rt)
	}
	if r := st.TopResponders; len(r) != 2 || r[0] != (parley.ResponderStat{UserID: m.UserID, Responses: 1, AverageMS: 30_000}) ||
		r[1] != (parley.ResponderStat{UserID: o.UserID, Responses: 1, AverageMS: 90_000}) {
		t.Fatalf("top responders %+v", r)
	}
	if d := st.Daily[len(st.Daily)-1]; d.Responses != 2 {
		t.Fatalf("today %+v", d)
	}
	// Who may see them.
	_, err = e.app.ConversationStats(ctx, m, g.ID, 7)
	wantModErr(t, err, parley.CodeForbidden, "")
	_, err = e.app.ConversationStats(ctx, x, g.ID, 7)
	wantModErr(t, err, parley.CodeNotFound, "")
	_, err = e.app.ConversationStats(ctx, o, g.ID, 400)
	wantModErr(t, err, parley.CodeInvalid, "days")
	if st, err := e.app.ConversationStats(ctx, app.Operator, g.ID, 0); err != nil || st.Messages != 6 || len(st.Hourly) != 0 {
		t.Fatalf("server admin: %+v %v", st, err)
	}
}

// BenchmarkConversationStats reads 30 days of analytics of a conversation
// whose counters stand for 1k and for 1M messages from 50 posters: the cost
// follows the counter rows (hours × active posters, and hours × response
// buckets used), not the messages.
func BenchmarkConversationStats(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprint("messages=", n), func(b *testing.B) {
			ctx := context.Background()
			e := newMsgEnv(b, app.Limits{})
			o := e.user(b, "owner")
			g, _, _ := e.app.CreateConversation(ctx, o, app.CreateConversationInput{Kind: parley.KindChannel, Title: "big"})
			// What 30 days of sends add to the counters: every hour, the
			// same 50 posters share n/720 messages.
			// Every poster's messages are responses, spread over 8 of the
			// histogram's buckets every hour.
			var deltas []parley.StatsDelta
			var resp []parley.ResponseDelta
			h0 := parley.StatsHour(e.clock.Now()) - 719
			per := int64(n / 720 / 50)
			for h := range int64(720) {
				for u := range 50 {
					deltas = append(deltas, parley.StatsDelta{ConversationID: g.ID, Hour: h0 + h, UserID: fmt.Sprint("user", u), Messages: max(per, 1),
						Responses: max(per, 1), ResponseMillis: 20_000 * max(per, 1)})
				}
				for b := range 8 {
					resp = append(resp, parley.ResponseDelta{ConversationID: g.ID, Hour: h0 + h, Bucket: 10 + b, Count: max(per*50/8, 1)})
				}
			}
			if err := e.store.AddStats(ctx, deltas, resp); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				st, err := e.app.ConversationStats(ctx, o, g.ID, 30)
				if err != nil || st.ActiveMembers != 50 || st.ResponseTime.Responses == 0 || len(st.TopResponders) != 10 {
					b.Fatal(st.ActiveMembers, st.ResponseTime, err)
				}
			}
		})
	}
}
