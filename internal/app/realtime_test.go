package app_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Realtime.History checks a member with one membership read; everyone else
// must get exactly App.History's answers.
func TestRealtimeHistoryMatchesAppHistory(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	rt := app.NewRealtime(e.app, nil)
	owner, stranger := e.user(t, "owner"), e.user(t, "stranger")
	group, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g"})
	if err != nil {
		t.Fatal(err)
	}
	channel, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindChannel, Title: "c", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // after the creation notice (seq 1): seqs 2–4
		if _, _, err := e.app.SendMessage(ctx, owner, app.SendMessageInput{ConversationID: group.ID,
			ClientMsgID: string(rune('a' + i)), Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name          string
		actor         parley.Actor
		conv          string
		after, before int64
		limit         int
		code          parley.Code // "" for success
		n             int
	}{
		{"member after", owner, group.ID, 1, 0, 10, "", 3},
		{"member newest", owner, group.ID, 0, 0, 0, "", 4},
		{"member bad limit", owner, group.ID, 0, 0, 1000, parley.CodeInvalid, 0},
		{"member both", owner, group.ID, 1, 3, 10, parley.CodeInvalid, 0},
		{"stranger private", stranger, group.ID, 0, 0, 10, parley.CodeNotFound, 0},
		{"stranger public", stranger, channel.ID, 0, 0, 10, parley.CodeForbidden, 0},
		{"bad id", owner, "nope", 0, 0, 10, parley.CodeInvalid, 0},
		{"anonymous", parley.Actor{}, group.ID, 0, 0, 10, parley.CodeUnauthenticated, 0},
	}
	for _, c := range cases {
		got, gerr := rt.History(ctx, c.actor, c.conv, c.after, c.before, c.limit)
		if c.code == "" && (gerr != nil || len(got) != c.n) || c.code != "" && !parley.IsCode(gerr, c.code) {
			t.Errorf("%s: %d messages, error %v; want %d messages, code %q", c.name, len(got), gerr, c.n, c.code)
		}
		want, werr := e.app.History(ctx, c.actor, c.conv, app.HistoryInput{After: c.after, Before: c.before, Limit: c.limit})
		if parley.ErrorCode(gerr) != parley.ErrorCode(werr) || (gerr == nil) != (werr == nil) {
			t.Errorf("%s: error %v, App.History %v", c.name, gerr, werr)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d messages, App.History %d", c.name, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].Seq != want[i].Seq {
				t.Errorf("%s: message %d seq %d, App.History %d", c.name, i, got[i].Seq, want[i].Seq)
			}
		}
	}
}
