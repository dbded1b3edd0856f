package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
)

// fake is an in-memory Backend recording what the model asked for.
type fake struct {
	self     string
	convs    []offline.Conversation
	msgs     map[string][]parley.Message
	outbox   []offline.Outbound
	receipts map[string][]parley.Receipt
	users    map[string]parley.User

	sent     []client.SendRequest
	reads    map[string]int64
	edits    []string
	reacts   []string
	typing   []bool
	uploads  []string
	netErr   error
	opened   string
	retried  []string
	discards []string
}

func newFake() *fake {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f := &fake{self: "u-me", msgs: map[string][]parley.Message{}, receipts: map[string][]parley.Receipt{},
		reads: map[string]int64{},
		users: map[string]parley.User{"u-me": {ID: "u-me", Username: "me"}, "u-bob": {ID: "u-bob", Username: "bob"},
			"u-cat": {ID: "u-cat", Username: "cat"}}}
	f.convs = []offline.Conversation{
		{Conversation: parley.Conversation{ID: "c-bob", Kind: parley.KindDirect, LastSeq: 3}, MemberIDs: []string{"u-me", "u-bob"}, Unread: 2, ReadSeq: 1},
		{Conversation: parley.Conversation{ID: "c-team", Kind: parley.KindGroup, Title: "Team", LastSeq: 1}, MemberIDs: []string{"u-me", "u-cat"}},
	}
	f.msgs["c-bob"] = []parley.Message{
		{ConversationID: "c-bob", Seq: 1, SenderID: "u-me", Kind: parley.MessageUser, Body: "hello bob", CreatedAt: t0},
		{ConversationID: "c-bob", Seq: 2, SenderID: "u-bob", Kind: parley.MessageUser, Body: "hi!\nsecond line", CreatedAt: t0,
			Reactions: []parley.Reaction{{Emoji: "👍", Count: 1, UserIDs: []string{"u-me"}}}},
		{ConversationID: "c-bob", Seq: 3, SenderID: "u-bob", Kind: parley.MessageUser, Body: "file for you", CreatedAt: t0,
			Attachments: []parley.Attachment{{ID: "a1", Name: "notes.txt", Size: 2048}}},
	}
	f.msgs["c-team"] = []parley.Message{{ConversationID: "c-team", Seq: 1, SenderID: "u-cat", Kind: parley.MessageUser, Body: "team msg", CreatedAt: t0}}
	f.receipts["c-bob"] = []parley.Receipt{{ConversationID: "c-bob", UserID: "u-bob", ReadSeq: 1, DeliveredSeq: 1}}
	return f
}

func (f *fake) Self() string                                   { return f.self }
func (f *fake) Conversations() ([]offline.Conversation, error) { return f.convs, nil }
func (f *fake) Messages(id string, before int64, limit int) ([]parley.Message, error) {
	ms := f.msgs[id]
	if len(ms) > limit {
		ms = ms[len(ms)-limit:]
	}
	return ms, nil
}
func (f *fake) Outbox(id string) ([]offline.Outbound, error) {
	var out []offline.Outbound
	for _, o := range f.outbox {
		if o.ConversationID == id {
			out = append(out, o)
		}
	}
	return out, nil
}
func (f *fake) Receipts(id string) ([]parley.Receipt, error) { return f.receipts[id], nil }
func (f *fake) Users() (map[string]parley.User, error)       { return f.users, nil }
func (f *fake) Send(id string, req client.SendRequest) error {
	if strings.TrimSpace(req.Body) == "" {
		return parley.Invalid("body", "empty message")
	}
	f.sent = append(f.sent, req)
	f.outbox = append(f.outbox, offline.Outbound{ConversationID: id, Body: req.Body, State: offline.Pending, ClientMsgID: "x"})
	return nil
}
func (f *fake) MarkRead(id string, seq int64) error { f.reads[id] = seq; return nil }
func (f *fake) Retry(id string) error               { f.retried = append(f.retried, id); return nil }
func (f *fake) Discard(id string) error             { f.discards = append(f.discards, id); return nil }
func (f *fake) Edit(ctx context.Context, id string, seq int64, body string) error {
	f.edits = append(f.edits, body)
	return f.netErr
}
func (f *fake) React(ctx context.Context, id string, seq int64, emoji string, add bool) error {
	f.reacts = append(f.reacts, emoji)
	return f.netErr
}
func (f *fake) Typing(id string, typing bool) { f.typing = append(f.typing, typing) }
func (f *fake) WatchPresence(ctx context.Context, ids []string) ([]parley.PresenceStatus, error) {
	return []parley.PresenceStatus{{UserID: "u-bob", Online: true}}, nil
}
func (f *fake) Upload(ctx context.Context, id, path, body string, reply int64) error {
	f.uploads = append(f.uploads, path)
	return f.netErr
}
func (f *fake) Download(ctx context.Context, a parley.Attachment, dir string) (string, error) {
	return dir + "/" + a.Name, f.netErr
}
func (f *fake) OpenEncryptedDirect(ctx context.Context, username string) (string, error) {
	f.opened = "encrypted " + username
	return "c-team", nil
}

func (f *fake) Safety(ctx context.Context, id string) (string, error) {
	return "safety number with cat in " + id + ": 12345 …", nil
}

func (f *fake) Verify(id string) (string, error) { return "marked 1 member(s) verified in " + id, nil }

func (f *fake) OpenDirect(ctx context.Context, username string) (string, error) {
	if username != "cat" {
		return "", parley.Errorf(parley.CodeNotFound, "no user %q", username)
	}
	f.opened = username
	return "c-team", nil
}

// drive feeds messages through Update, running the commands' messages
// (except ticks, raw output and quit) back in, as the runtime would.
func drive(t *testing.T, m Model, msgs ...tea.Msg) (Model, []tea.Msg) {
	t.Helper()
	var side []tea.Msg
	queue := append([]tea.Msg{}, msgs...)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		next, cmd := m.Update(msg)
		m = next.(Model)
		queue = append(queue, run(cmd, &side)...)
	}
	return m, side
}

func run(cmd tea.Cmd, side *[]tea.Msg) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c, side)...)
		}
		return out
	case tickMsg, nil:
		return nil
	case tea.RawMsg, tea.QuitMsg:
		*side = append(*side, msg)
		return nil
	}
	// Internal messages go back into Update; anything else from a
	// sub-component (cursor blinks) is dropped.
	switch msg.(type) {
	case doneMsg, presenceMsg, ChangedMsg, StatusMsg, EventMsg:
		return []tea.Msg{msg}
	}
	return nil
}

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	case "alt+enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter, Mod: tea.ModAlt}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

func typeText(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, press(string(r)))
	}
	return out
}

func newModel(t *testing.T, f *fake) Model {
	t.Helper()
	m := New(f, Options{Notify: true, DownloadDir: "/tmp/dl"})
	m.now = func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }
	m, _ = drive(t, m, tea.WindowSizeMsg{Width: 100, Height: 30}, StatusMsg{State: offline.Online})
	return m
}

func TestListShowsUnreadAndPresence(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	out := m.Render()
	for _, want := range []string{"Conversations", "bob (2)", "Team", "● online", "No conversation open"} {
		if !strings.Contains(out, want) {
			t.Errorf("screen lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "● bob") {
		t.Error("presence shown before any is known")
	}
	m, _ = drive(t, m, EventMsg(client.Event{Type: "connected"}))
	if !m.presence["u-bob"] {
		t.Fatal("connected did not watch presence")
	}
	if out := m.Render(); !strings.Contains(out, "●") || !strings.Contains(out, "bob") {
		t.Errorf("presence not shown:\n%s", out)
	}
	m, _ = drive(t, m, EventMsg(client.Event{Type: "presence", Presence: &parley.PresenceStatus{UserID: "u-bob", Online: false}}))
	if m.presence["u-bob"] {
		t.Error("offline presence event not applied")
	}
}

func TestOpenReadComposeSend(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	m, _ = drive(t, m, press("enter")) // opens the first conversation
	if m.curID != "c-bob" || m.focus != focusCompose {
		t.Fatalf("enter: cur %q focus %d", m.curID, m.focus)
	}
	if f.reads["c-bob"] != 3 {
		t.Errorf("opening at the bottom marks read up to 3, got %d", f.reads["c-bob"])
	}
	out := m.Render()
	for _, want := range []string{"hello bob", "hi!", "second line", "👍 1", "📎 notes.txt (2.0 KiB)", "✓✓", "seen by bob"} {
		if !strings.Contains(out, want) {
			t.Errorf("message view lacks %q:\n%s", want, out)
		}
	}
	// Multi-line compose: alt+enter inserts a newline, enter sends.
	msgs := append(typeText("line one"), press("alt+enter"))
	msgs = append(msgs, typeText("line two")...)
	msgs = append(msgs, press("enter"))
	m, _ = drive(t, m, msgs...)
	if len(f.sent) != 1 || f.sent[0].Body != "line one\nline two" {
		t.Fatalf("sent %+v, want one two-line message", f.sent)
	}
	if len(f.typing) == 0 || f.typing[0] != true || f.typing[len(f.typing)-1] != false {
		t.Errorf("typing notifications %v: want true first, false after sending", f.typing)
	}
	if m.compose.Value() != "" {
		t.Errorf("compose not cleared: %q", m.compose.Value())
	}
	if out := m.Render(); !strings.Contains(out, "… sending") {
		t.Errorf("outbox entry not shown:\n%s", out)
	}
	// Blank input sends nothing.
	m, _ = drive(t, m, press("space"), press("enter"))
	if len(f.sent) != 1 {
		t.Errorf("blank message sent: %+v", f.sent)
	}
}

func TestReplyEditReactDownload(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	m, _ = drive(t, m, press("enter"), press("esc")) // open, then go to the messages
	if m.focus != focusMessages || m.sel != 2 {
		t.Fatalf("esc: focus %d sel %d", m.focus, m.sel)
	}
	// Reply to #2.
	m, _ = drive(t, m, press("up"), press("r"))
	if m.replyTo != 2 || m.focus != focusCompose {
		t.Fatalf("r: replyTo %d focus %d", m.replyTo, m.focus)
	}
	if !strings.Contains(m.Render(), "replying to #2") {
		t.Error("reply hint not shown")
	}
	m, _ = drive(t, m, append(typeText("sure"), press("enter"))...)
	if len(f.sent) != 1 || f.sent[0].ReplyTo != 2 {
		t.Fatalf("reply sent %+v", f.sent)
	}
	// Edit someone else's message: refused locally.
	m, _ = drive(t, m, press("esc"), press("e"))
	if len(f.edits) != 0 || !m.flashErr {
		t.Errorf("editing bob's message: edits %v flash %q", f.edits, m.flash)
	}
	// Edit my own (#1).
	m, _ = drive(t, m, press("up"), press("e"))
	if m.editing != 1 || m.compose.Value() != "hello bob" {
		t.Fatalf("e: editing %d value %q", m.editing, m.compose.Value())
	}
	m, _ = drive(t, m, append(typeText("!"), press("enter"))...)
	if len(f.edits) != 1 || f.edits[0] != "hello bob!" {
		t.Fatalf("edits %v", f.edits)
	}
	// React, and a network failure shows on the state line.
	m, _ = drive(t, m, press("esc"), press("+"))
	if len(f.reacts) != 1 || f.reacts[0] != "👍" {
		t.Fatalf("reacts %v", f.reacts)
	}
	f.netErr = parley.Errorf(parley.CodeUnavailable, "offline")
	m, _ = drive(t, m, press("+"))
	if !strings.Contains(m.Render(), "unavailable") {
		t.Errorf("failure not shown:\n%s", m.Render())
	}
	f.netErr = nil
	// Download: only a message with attachments.
	m, _ = drive(t, m, press("down"), press("down"), press("d"))
	if !strings.Contains(m.flash, "/tmp/dl/notes.txt") {
		t.Errorf("download flash %q", m.flash)
	}
	m, _ = drive(t, m, press("up"), press("d"))
	if !m.flashErr {
		t.Error("download without attachment not refused")
	}
}

func TestCommands(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	m, _ = drive(t, m, press("enter"))
	run := func(s string) {
		m, _ = drive(t, m, append(typeText(s), press("enter"))...)
	}
	run("/upload /etc/hostname caption")
	if len(f.uploads) != 1 || f.uploads[0] != "/etc/hostname" {
		t.Errorf("uploads %v", f.uploads)
	}
	run("/react 🎉")
	if len(f.reacts) != 1 || f.reacts[0] != "🎉" {
		t.Errorf("reacts %v", f.reacts)
	}
	run("/nope")
	if !m.flashErr || !strings.Contains(m.flash, "unknown command") {
		t.Errorf("unknown command: %q", m.flash)
	}
	run("/dm nobody")
	if !strings.Contains(m.flash, "not_found") {
		t.Errorf("/dm nobody: %q", m.flash)
	}
	run("/dm cat")
	if m.curID != "c-team" {
		t.Errorf("/dm cat opened %q", m.curID)
	}
	run("/edm cat")
	if f.opened != "encrypted cat" {
		t.Errorf("/edm cat: %q", f.opened)
	}
	run("/safety")
	if !strings.Contains(m.flash, "safety number with cat in c-team") {
		t.Errorf("/safety: %q", m.flash)
	}
	run("/verify")
	if !strings.Contains(m.flash, "verified in c-team") {
		t.Errorf("/verify: %q", m.flash)
	}
	f.outbox = []offline.Outbound{{ClientMsgID: "bad", ConversationID: "c-team", Body: "too long", State: offline.Failed,
		Err: &parley.Error{Code: parley.CodeTooLarge, Message: "body over 4000 characters"}}}
	m, _ = drive(t, m, ChangedMsg{})
	if out := m.Render(); !strings.Contains(out, "✗ failed: too_large") {
		t.Errorf("failed entry not shown:\n%s", out)
	}
	run("/retry")
	run("/discard")
	if len(f.retried) != 1 || len(f.discards) != 1 {
		t.Errorf("retry %v discard %v", f.retried, f.discards)
	}
	_, side := drive(t, m, append(typeText("/quit"), press("enter"))...)
	if len(side) != 1 {
		t.Errorf("/quit: %v", side)
	}
}

func TestStateLineAndNotifications(t *testing.T) {
	f := newFake()
	m := newModel(t, f)
	m, _ = drive(t, m, StatusMsg{State: offline.Offline, Err: errors.New("dial tcp: connection refused"), Since: time.Now()})
	if out := m.Render(); !strings.Contains(out, "offline — reconnecting") || !strings.Contains(out, "connection refused") {
		t.Errorf("offline state line:\n%s", out)
	}
	m, _ = drive(t, m, press("enter"))
	m, _ = drive(t, m, append(typeText("queued"), press("enter"))...)
	f.convs[0].Pending = 1
	m, _ = drive(t, m, ChangedMsg{})
	if out := m.Render(); !strings.Contains(out, "queued (offline)") || !strings.Contains(out, "1 unsent") {
		t.Errorf("offline outbox:\n%s", out)
	}
	m, _ = drive(t, m, StatusMsg{State: offline.Online})
	if out := m.Render(); !strings.Contains(out, "● online") {
		t.Errorf("online state line:\n%s", out)
	}
	// A message from someone else in another conversation rings; in the
	// open one at the bottom it does not; my own never does.
	other := &parley.Message{ConversationID: "c-team", SenderID: "u-cat", Kind: parley.MessageUser, Body: "ping\x1b]evil"}
	_, side := drive(t, m, EventMsg(client.Event{Type: "message", Message: other}))
	if len(side) != 1 {
		t.Fatalf("no notification: %v", side)
	}
	raw := side[0].(tea.RawMsg).Msg.(string)
	if !strings.HasPrefix(raw, "\a\x1b]9;cat: ping") || strings.Count(raw, "\x1b") != 1 {
		t.Errorf("notification %q: want bell + OSC 9 with control characters removed", raw)
	}
	here := &parley.Message{ConversationID: "c-bob", SenderID: "u-bob", Kind: parley.MessageUser, Body: "x"}
	if _, side := drive(t, m, EventMsg(client.Event{Type: "message", Message: here})); len(side) != 0 {
		t.Errorf("notified for the open conversation: %v", side)
	}
	mine := &parley.Message{ConversationID: "c-team", SenderID: "u-me", Kind: parley.MessageUser, Body: "x"}
	if _, side := drive(t, m, EventMsg(client.Event{Type: "message", Message: mine})); len(side) != 0 {
		t.Errorf("notified for my own message: %v", side)
	}
	// Typing indicator shows and expires.
	m, _ = drive(t, m, EventMsg(client.Event{Type: "typing", ConversationID: "c-bob", UserID: "u-bob", Typing: true}))
	if !strings.Contains(m.Render(), "bob typing…") {
		t.Errorf("typing not shown:\n%s", m.Render())
	}
	m.now = func() time.Time { return time.Date(2026, 12, 6, 12, 1, 0, 0, time.UTC) }
	m, _ = drive(t, m, tickMsg{})
	if strings.Contains(m.Render(), "typing…") {
		t.Error("typing indicator did not expire")
	}
	m, _ = drive(t, m, StatusMsg{State: offline.SignedOut})
	if !strings.Contains(m.Render(), "signed out") {
		t.Error("signed-out state not shown")
	}
}

func TestHistoryScroll(t *testing.T) {
	f := newFake()
	var long []parley.Message
	for i := 1; i <= 500; i++ {
		long = append(long, parley.Message{ConversationID: "c-bob", Seq: int64(i), SenderID: "u-bob", Kind: parley.MessageUser,
			Body: "message number " + strings.Repeat("x", i%7)})
	}
	f.msgs["c-bob"] = long
	m := newModel(t, f)
	m, _ = drive(t, m, press("enter"))
	if !strings.Contains(m.Render(), "#500") {
		t.Fatal("newest message not shown")
	}
	if len(m.msgs) != 200 {
		t.Fatalf("loaded %d messages, want the newest 200", len(m.msgs))
	}
	for range 60 {
		m, _ = drive(t, m, press("pgup"))
	}
	if out := m.Render(); strings.Contains(out, "#500") || !strings.Contains(out, "lines up") {
		t.Errorf("pgup did not scroll:\n%s", out)
	}
	if len(m.msgs) <= 200 {
		t.Errorf("scrolling back did not load older history (%d loaded)", len(m.msgs))
	}
	for range 200 {
		m, _ = drive(t, m, press("pgdown"))
	}
	if !strings.Contains(m.Render(), "#500") {
		t.Error("pgdown did not return to the bottom")
	}
}

func TestSanitize(t *testing.T) {
	if got := sanitize("a\x07b\x1b]c\u009dd"); got != "ab]cd" {
		t.Errorf("sanitize = %q", got)
	}
}

func TestLongMessagesWrapIndented(t *testing.T) {
	f := newFake()
	f.msgs["c-bob"] = append(f.msgs["c-bob"], parley.Message{ConversationID: "c-bob", Seq: 4, SenderID: "u-bob",
		Kind: parley.MessageUser, Body: strings.Repeat("wrapword ", 30)})
	m := newModel(t, f)
	m, _ = drive(t, m, press("enter"))
	n := 0
	for _, line := range strings.Split(m.Render(), "\n") {
		_, right, ok := strings.Cut(line, "│")
		if ok && strings.Contains(right, "wrapword") {
			n++
			if !strings.HasPrefix(right, "  wrapword") {
				t.Errorf("body line not indented: %q", right)
			}
		}
	}
	if n < 3 {
		t.Errorf("a 270-character body took %d lines at width 100", n)
	}
}
