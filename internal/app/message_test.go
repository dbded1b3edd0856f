package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/memory"
	"github.com/parley-chat/parley/internal/sqlite"
)

// msgEnv is an App on a real SQLite store and in-process bus, recording
// every published event in order.
type msgEnv struct {
	app     *app.App
	store   parley.Store
	clock   *acctClock
	mu      sync.Mutex
	evs     []parley.Event
	discard bool // benchmarks: do not keep events
}

func newMsgEnv(t testing.TB, limits app.Limits) *msgEnv {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bus := memory.New()
	e := &msgEnv{clock: &acctClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}}
	unsub, err := bus.Subscribe(func(ev parley.Event) {
		e.mu.Lock()
		if !e.discard {
			e.evs = append(e.evs, ev)
		}
		e.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unsub(); _ = bus.Close(); _ = store.Close() })
	e.store = store
	e.app = app.New(app.Options{Store: store, Bus: bus, Now: e.clock.Now, Limits: limits,
		Passwords: app.PasswordOptions{Params: app.FastPasswordParams()}})
	return e
}

func (e *msgEnv) user(t testing.TB, name string) parley.Actor {
	t.Helper()
	u, token, err := e.app.Register(context.Background(), app.RegisterInput{Username: name, Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.app.Authenticate(context.Background(), token)
	if err != nil || a.UserID != u.ID {
		t.Fatal(a, err)
	}
	return a
}

// events returns the events recorded so far once the bus has delivered n.
func (e *msgEnv) events(t *testing.T, n int) []parley.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		got := append([]parley.Event(nil), e.evs...)
		e.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMessageEventsArePublishedInSeqOrder(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	const senders, each = 8, 25
	var actors []parley.Actor
	var ids []string
	for i := range senders {
		a := e.user(t, fmt.Sprintf("user%d", i))
		actors = append(actors, a)
		ids = append(ids, a.UserID)
	}
	c, created, err := e.app.CreateConversation(ctx, actors[0], app.CreateConversationInput{Kind: parley.KindGroup, Title: "g", MemberIDs: ids})
	if err != nil || !created {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, a := range actors {
		wg.Go(func() {
			for j := range each {
				if _, _, err := e.app.SendMessage(ctx, a, app.SendMessageInput{ConversationID: c.ID,
					ClientMsgID: fmt.Sprint(i, "-", j), Body: "hi"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// senders member_joined events, the created message, then the messages.
	evs := e.events(t, senders+1+senders*each)
	var seqs []int64
	joined := 0
	for _, ev := range evs {
		switch ev.Kind {
		case parley.EventMemberJoined:
			joined++
			if len(ev.Join) != 1 || ev.ConversationID != c.ID {
				t.Fatalf("member_joined event %+v", ev)
			}
		case parley.EventMessage:
			var f struct {
				Type    string         `json:"type"`
				Message parley.Message `json:"message"`
			}
			if err := json.Unmarshal(ev.Frame, &f); err != nil || f.Type != "message" || ev.ConversationID != c.ID {
				t.Fatalf("frame %s: %v", ev.Frame, err)
			}
			seqs = append(seqs, f.Message.Seq)
		default:
			t.Fatalf("unexpected event %s", ev.Kind)
		}
	}
	if joined != senders || len(seqs) != 1+senders*each {
		t.Fatalf("%d joined, %d messages", joined, len(seqs))
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("event %d carries seq %d: %v", i, s, seqs)
		}
	}
}

// TestSendMessageJSON: the encoding returned with a new message is the
// message object of its event frame, and decodes to the returned message.
func TestSendMessageJSON(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 1e6})
	ctx := context.Background()
	a := e.user(t, "alice")
	c, _, err := e.app.CreateConversation(ctx, a, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g"})
	if err != nil {
		t.Fatal(err)
	}
	in := app.SendMessageInput{ConversationID: c.ID, ClientMsgID: "k1", Body: `"quoted" <b> & é`}
	m, enc, created, err := e.app.SendMessageJSON(ctx, a, in)
	if err != nil || !created || enc == nil {
		t.Fatalf("send: %v created=%v enc=%s", err, created, enc)
	}
	want, _ := json.Marshal(m)
	if string(enc) != string(want) {
		t.Fatalf("encoding %s, want %s", enc, want)
	}
	// Creating the group publishes member_joined and the "created" system
	// message; the sent message's event is the third.
	evs := e.events(t, 3)
	last := evs[len(evs)-1]
	if len(evs) != 3 || last.Kind != parley.EventMessage || string(last.Frame) != `{"type":"message","message":`+string(enc)+`}` {
		t.Fatalf("%d events; last frame %s does not carry %s", len(evs), last.Frame, enc)
	}
	// A resend returns the original without an encoding.
	if m2, enc2, created2, err := e.app.SendMessageJSON(ctx, a, in); err != nil || created2 || enc2 != nil || m2.Seq != m.Seq {
		t.Fatalf("resend: %v created=%v enc=%s seq=%d", err, created2, enc2, m2.Seq)
	}
}

func TestSendRateLimitPerUser(t *testing.T) {
	e := newMsgEnv(t, app.Limits{MessagesPerUserSecond: 5})
	ctx := context.Background()
	a, b := e.user(t, "alice"), e.user(t, "bobby")
	c, _, err := e.app.CreateConversation(ctx, a, app.CreateConversationInput{Kind: parley.KindGroup, MemberIDs: []string{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(who parley.Actor, id string) error {
		_, _, err := e.app.SendMessage(ctx, who, app.SendMessageInput{ConversationID: c.ID, ClientMsgID: id, Body: "x"})
		return err
	}
	sent := 0
	var limited error
	for i := range 100 {
		if err := send(a, fmt.Sprint(i)); err != nil {
			limited = err
			break
		}
		sent++
	}
	if e := parley.AsError(limited); e == nil || e.Code != parley.CodeRateLimited || e.RetryAfter <= 0 || sent != 10 {
		t.Fatalf("after %d sends: %v", sent, limited)
	}
	if err := send(b, "b"); err != nil { // per user
		t.Fatalf("other user limited: %v", err)
	}
	e.clock.Add(time.Second)
	for i := range 5 {
		if err := send(a, fmt.Sprint("later", i)); err != nil {
			t.Fatalf("after refill: %v", err)
		}
	}
}

func TestParseMentions(t *testing.T) {
	for body, want := range map[string][]string{
		"hi @alice":                    {"alice"},
		"@Bob, @carol. and @bob again": {"bob", "carol"},
		"mail me at me@example.com":    nil,
		"@@double @x @ab @a.b.c- end":  {"a.b.c"},
		"(@dave) [@erin] @frank!":      {"dave", "erin", "frank"},
		"@" + string(make([]byte, 40)): nil,
		"":                             nil,
		"no mentions":                  nil,
		"@émile @zoë_":                 nil,
	} {
		if got := app.ParseMentions(body); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseMentions(%q) = %q, want %q", body, got, want)
		}
	}
}

func FuzzParseMentions(f *testing.F) {
	for _, s := range []string{"hi @alice", "@a.b @c-d_e. @@x", "x@y.z @", "\xff@bob"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		names := app.ParseMentions(body)
		if len(names) > app.MaxMentions {
			t.Fatalf("%d names", len(names))
		}
		seen := map[string]bool{}
		for _, n := range names {
			if c, err := parley.CanonicalUsername(n); err != nil || c != n || seen[n] {
				t.Fatalf("bad name %q from %q", n, body)
			}
			seen[n] = true
		}
	})
}

func TestCheckEmoji(t *testing.T) {
	for _, ok := range []string{"👍", "🇫🇷", "👨‍👩‍👧‍👦", ":party:", "+1"} {
		if err := app.CheckEmoji(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " ", "a b", "\xff", "a/b", "\x00", string(make([]byte, 65))} {
		if err := app.CheckEmoji(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMembershipEventsRouteJoinAndLeave(t *testing.T) {
	e := newMsgEnv(t, app.Limits{})
	ctx := context.Background()
	a, b := e.user(t, "alice"), e.user(t, "bobby")
	c, _, err := e.app.CreateConversation(ctx, a, app.CreateConversationInput{Kind: parley.KindGroup, Title: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.AddMembers(ctx, a, c.ID, []string{b.UserID}); err != nil {
		t.Fatal(err)
	}
	if err := e.app.RemoveMember(ctx, a, c.ID, b.UserID); err != nil {
		t.Fatal(err)
	}
	muted := true
	if _, err := e.app.UpdateMember(ctx, a, c.ID, a.UserID, app.MemberUpdate{Muted: &muted}); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, 7)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, string(ev.Kind))
	}
	want := "[member_joined message member_joined message message member_left member_updated]"
	if fmt.Sprint(kinds) != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	if evs[2].Join[0] != b.UserID || evs[5].Leave[0] != b.UserID || evs[5].ConversationID != c.ID {
		t.Fatalf("join/leave routing: %+v / %+v", evs[2], evs[5])
	}
	if evs[6].ConversationID != "" || len(evs[6].UserIDs) != 1 || evs[6].UserIDs[0] != a.UserID {
		t.Fatalf("settings change must go to the member only: %+v", evs[6])
	}
	var f struct {
		Type         string               `json:"type"`
		UserID       string               `json:"user_id"`
		Member       parley.Member        `json:"member"`
		Conversation *parley.Conversation `json:"conversation"`
	}
	if err := json.Unmarshal(evs[2].Frame, &f); err != nil || f.Type != "member_joined" || f.UserID != b.UserID ||
		f.Conversation == nil || f.Conversation.ID != c.ID {
		t.Fatalf("member_joined frame %s", evs[2].Frame)
	}
}

// FuzzCursors feeds arbitrary cursors to the paginated lists: the answer is
// a page or an invalid error naming the cursor, never a panic or another code.
func FuzzCursors(f *testing.F) {
	e := newMsgEnv(f, app.Limits{})
	a := e.user(f, "fuzzer")
	ctx := context.Background()
	for _, s := range []string{"", "MTIzAGFiYw", "!!", "AA", "MTcwMDAwMDAwMDAwMAAwMW04NHAwd2N5cXB6MmJ5Mndo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		for _, call := range []func() error{
			func() error { _, _, err := e.app.ListConversations(ctx, a, cursor, 5); return err },
			func() error { _, _, err := e.app.PublicChannels(ctx, a, "", cursor, 5); return err },
		} {
			if err := call(); err != nil {
				if pe := parley.AsError(err); pe.Code != parley.CodeInvalid || pe.Field != "cursor" {
					t.Fatalf("cursor %q: %v", cursor, err)
				}
			}
		}
	})
}
