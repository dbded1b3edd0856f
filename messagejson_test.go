package parley

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// sameAsEncodingJSON fails t unless AppendMessagesJSON writes exactly what
// json.Marshal does for ms (or both fail).
func sameAsEncodingJSON(t *testing.T, ms []Message) {
	t.Helper()
	want, werr := json.Marshal(ms)
	got, gerr := AppendMessagesJSON([]byte("prefix"), ms)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("errors differ: encoding/json %v, AppendMessagesJSON %v", werr, gerr)
	}
	if werr != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("\nencoding/json       %s\nAppendMessagesJSON  %s", want, got[min(len(got), len("prefix")):])
	}
}

func TestAppendMessagesJSON(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 4, 3, 120_000_000, time.UTC)
	edited := at.Add(time.Minute + 7*time.Nanosecond)
	title := `<b>"title"</b> & more`
	zone := time.FixedZone("x", -(9*3600 + 30*60))
	full := Message{ID: "01id", ConversationID: "01conv", Seq: 42, SenderID: "01sender", ClientMsgID: "c<1>&",
		Kind: MessageUser, Body: "tab\t nl\n cr\r bs\\ q\" ctl\x01\x1f del\x7f <>& \u2028\u2029 ünï 👍 bad\xff\xfe end",
		ReplyTo: 7, Mentions: []string{"a", "b"},
		Reactions: []Reaction{{Emoji: "👍", Count: 2, UserIDs: []string{"u1", "u2"}}, {Emoji: "x", Count: 0, UserIDs: nil},
			{Emoji: "y", UserIDs: []string{}}},
		System:    &SystemInfo{Action: SystemConversationUp, ActorID: "a", Title: &title, Until: &at},
		CreatedAt: at, EditedAt: &edited, Deleted: true,
		Attachments: []Attachment{{ID: "f", Name: "a<b>.png", MIME: "image/png", Size: 10, Width: 1, Height: 2,
			Thumbnail: &Thumbnail{MIME: "image/webp", Width: 1, Height: 1, Size: 3}}},
		E2EE: json.RawMessage(` { "v" : 1, "c" : "<x>" } `),
	}
	cases := map[string][]Message{
		"nil":   nil,
		"empty": {},
		"plain": {{ID: "1", ConversationID: "c", Seq: 1, SenderID: "s", Kind: MessageUser, Body: "hi", CreatedAt: at}},
		"full":  {full, full},
		"empty slices": {{ID: "1", Mentions: []string{}, Reactions: []Reaction{}, Attachments: []Attachment{},
			E2EE: json.RawMessage{}, CreatedAt: at}},
		"zero time":     {{}},
		"zone":          {{CreatedAt: at.In(zone), EditedAt: &time.Time{}}},
		"local":         {{CreatedAt: at.Local()}},
		"negative seq":  {{Seq: -5, ReplyTo: -1, CreatedAt: at}},
		"year 10000":    {{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"year -1":       {{CreatedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"zone hour 24":  {{CreatedAt: at.In(time.FixedZone("y", 24*3600))}},
		"zone seconds":  {{CreatedAt: at.In(time.FixedZone("z", 3600+30))}},
		"edited 10000":  {{CreatedAt: at, EditedAt: &[]time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}[0]}},
		"invalid e2ee":  {{CreatedAt: at, E2EE: json.RawMessage(`{"v":`)}},
		"system, no at": {{Kind: MessageSystem, System: &SystemInfo{Action: SystemCreated, UserIDs: []string{"a"}}, CreatedAt: at}},
	}
	for name, ms := range cases {
		t.Run(name, func(t *testing.T) { sameAsEncodingJSON(t, ms) })
	}
}

func FuzzAppendMessagesJSON(f *testing.F) {
	f.Add("body", "client", "👍", int64(1), int64(0), int64(1_700_000_000_000), false)
	f.Add("<&>\u2028\xff", "", "", int64(-1), int64(9), int64(-62_135_596_800_001), true)
	f.Fuzz(func(t *testing.T, body, client, emoji string, seq, reply, ms int64, deleted bool) {
		at := time.UnixMilli(ms).UTC()
		m := Message{ID: client + "id", ConversationID: emoji, Seq: seq, SenderID: body, ClientMsgID: client,
			Kind: MessageKind(emoji), Body: body, ReplyTo: reply, CreatedAt: at, Deleted: deleted}
		if emoji != "" {
			m.Reactions = []Reaction{{Emoji: emoji, Count: int(seq), UserIDs: []string{client, body}}}
			m.Mentions = []string{body}
			m.EditedAt = &at
		}
		sameAsEncodingJSON(t, []Message{m, {Body: body}})
	})
}
