package app_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Missed gives a member each range's messages in the order asked, nothing
// of a conversation they are not in, and refuses every malformed or
// oversized request with a typed error before reading.
func TestMissed(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	rt := app.NewRealtime(e.app, nil)
	owner, member, stranger := e.user(t, "owner"), e.user(t, "member"), e.user(t, "stranger")
	var convs []string
	for _, title := range []string{"a", "b", "private"} {
		c, _, err := e.app.CreateConversation(ctx, owner, app.CreateConversationInput{Kind: parley.KindGroup, Title: title})
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c.ID)
		for i := range 3 { // after the creation notice (seq 1): seqs 2–4
			if _, _, err := e.app.SendMessage(ctx, owner, app.SendMessageInput{ConversationID: c.ID,
				ClientMsgID: title + string(rune('a'+i)), Body: title}); err != nil {
				t.Fatal(err)
			}
		}
		if title != "private" {
			if _, err := e.app.AddMembers(ctx, owner, c.ID, []string{member.UserID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ms, err := rt.Missed(ctx, member, []parley.SeqRange{
		{ConversationID: convs[1], After: 2, Until: 4},
		{ConversationID: convs[2], After: 0, Until: 4},
		{ConversationID: convs[0], After: 3, Until: 5}, // seq 5 is the member's own join notice
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Body+string(rune('0'+m.Seq)))
	}
	if len(got) != 4 || got[0] != "b3" || got[1] != "b4" || got[2] != "a4" || got[3] != "5" {
		t.Fatalf("missed: %v", got)
	}
	if ms, err := rt.Missed(ctx, stranger, []parley.SeqRange{{ConversationID: convs[0], After: 0, Until: 4}}); err != nil || len(ms) != 0 {
		t.Fatalf("a stranger's missed: %d messages, %v", len(ms), err)
	}
	many := make([]parley.SeqRange, app.MaxMissedRanges+1)
	for i := range many {
		many[i] = parley.SeqRange{ConversationID: parley.NewID(), After: 0, Until: 1}
	}
	big := make([]parley.SeqRange, app.MaxMissedMessages/app.MaxMissedPerRange+1)
	for i := range big {
		big[i] = parley.SeqRange{ConversationID: parley.NewID(), After: 0, Until: app.MaxMissedPerRange}
	}
	for _, c := range []struct {
		name   string
		actor  parley.Actor
		ranges []parley.SeqRange
		code   parley.Code
	}{
		{"anonymous", parley.Actor{}, []parley.SeqRange{{ConversationID: convs[0], Until: 1}}, parley.CodeUnauthenticated},
		{"bad id", member, []parley.SeqRange{{ConversationID: "nope", Until: 1}}, parley.CodeInvalid},
		{"missing id", member, []parley.SeqRange{{Until: 1}}, parley.CodeInvalid},
		{"negative after", member, []parley.SeqRange{{ConversationID: convs[0], After: -1, Until: 1}}, parley.CodeInvalid},
		{"empty range", member, []parley.SeqRange{{ConversationID: convs[0], After: 3, Until: 3}}, parley.CodeInvalid},
		{"twice", member, []parley.SeqRange{{ConversationID: convs[0], Until: 1}, {ConversationID: convs[0], After: 2, Until: 3}}, parley.CodeInvalid},
		{"long range", member, []parley.SeqRange{{ConversationID: convs[0], Until: app.MaxMissedPerRange + 1}}, parley.CodeTooLarge},
		{"too many ranges", member, many, parley.CodeTooLarge},
		{"too many messages", member, big, parley.CodeTooLarge},
	} {
		if ms, err := rt.Missed(ctx, c.actor, c.ranges); !parley.IsCode(err, c.code) || ms != nil {
			t.Errorf("%s: %d messages, %v; want %s", c.name, len(ms), err, c.code)
		}
	}
}
