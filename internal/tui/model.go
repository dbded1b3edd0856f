package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
)

// Messages the model receives besides keys and window sizes.
type (
	// ChangedMsg: the store changed; reload what is shown.
	ChangedMsg struct{}
	// StatusMsg: the connection state changed.
	StatusMsg offline.Status
	// EventMsg: a real-time event (after the store applied it).
	EventMsg client.Event
	// presenceMsg carries presence statuses (answer to a watch).
	presenceMsg []parley.PresenceStatus
	// doneMsg ends a side effect: info to show, or its error.
	doneMsg struct {
		info string
		err  error
		open string // a conversation to open
	}
	// tickMsg expires typing indicators.
	tickMsg time.Time
)

type focus int

const (
	focusList focus = iota
	focusCompose
	focusMessages
)

// Options configure the model.
type Options struct {
	DownloadDir string // where d saves attachments; "." by default
	Notify      bool   // ring the bell and send OSC 9 on messages from others
	// Timeout bounds each network operation; 15s.
	Timeout time.Duration
	// E2EE is this install's end-to-end encryption device (nil: off;
	// encrypted conversations then show "could not decrypt").
	E2EE *client.E2EE
}

// Model is the chat screen.
type Model struct {
	b    Backend
	opts Options

	width, height int
	focus         focus

	convs    []offline.Conversation
	curID    string
	msgs     []parley.Message
	limit    int // messages loaded for the open conversation
	outbox   []offline.Outbound
	receipts []parley.Receipt
	users    map[string]parley.User

	sel     int // selected message (index into msgs; messages focus)
	scroll  int // lines scrolled up from the bottom
	compose textarea.Model
	replyTo int64
	editing int64

	status     offline.Status
	presence   map[string]bool
	typing     map[string]time.Time // "conv/user" → until
	flash      string
	flashErr   bool
	lastTyping time.Time
	now        func() time.Time
}

// New returns the model over b.
func New(b Backend, opts Options) Model {
	if opts.DownloadDir == "" {
		opts.DownloadDir = "."
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	ta := textarea.New()
	ta.Placeholder = "Write a message (enter sends, alt+enter or ctrl+j: new line, /help)"
	ta.ShowLineNumbers = false
	ta.Prompt = "│ "
	ta.KeyMap.InsertNewline = key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"))
	ta.SetHeight(3)
	ta.CharLimit = 0
	styles := ta.Styles()
	styles.Cursor.Blink = false // a steady cursor: no timer ticking while idle
	ta.SetStyles(styles)
	m := Model{b: b, opts: opts, compose: ta, limit: 200, sel: -1, width: 100, height: 30,
		presence: map[string]bool{}, typing: map[string]time.Time{}, users: map[string]parley.User{},
		status: offline.Status{State: offline.Connecting}, now: time.Now}
	m.reload()
	return m
}

// Init implements tea.Model.
func (m Model) Init() tea.Cmd { return tick() }

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// reload reads the store.
func (m *Model) reload() {
	if cs, err := m.b.Conversations(); err == nil {
		m.convs = cs
	} else {
		m.setErr(err)
	}
	if us, err := m.b.Users(); err == nil {
		m.users = us
	}
	if m.curID == "" {
		return
	}
	if ms, err := m.b.Messages(m.curID, 0, m.limit); err == nil {
		m.msgs = ms
	}
	m.outbox, _ = m.b.Outbox(m.curID)
	m.receipts, _ = m.b.Receipts(m.curID)
	if m.sel >= len(m.msgs) {
		m.sel = len(m.msgs) - 1
	}
}

func (m *Model) setErr(err error) {
	m.flash, m.flashErr = err.Error(), true
}

func (m *Model) info(s string) { m.flash, m.flashErr = s, false }

// current returns the open conversation.
func (m *Model) current() (offline.Conversation, bool) {
	for _, c := range m.convs {
		if c.ID == m.curID {
			return c, true
		}
	}
	return offline.Conversation{}, false
}

func (m *Model) open(id string) tea.Cmd {
	m.curID, m.limit, m.sel, m.scroll, m.replyTo, m.editing = id, 200, -1, 0, 0, 0
	m.reload()
	m.focus = focusCompose
	return tea.Batch(m.compose.Focus(), m.markRead())
}

// markRead marks the open conversation read up to its newest message when
// the view is at the bottom.
func (m *Model) markRead() tea.Cmd {
	c, ok := m.current()
	if !ok || m.scroll > 0 || len(m.msgs) == 0 {
		return nil
	}
	last := m.msgs[len(m.msgs)-1].Seq
	if last <= c.ReadSeq {
		return nil
	}
	_ = m.b.MarkRead(c.ID, last)
	return nil
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.compose.SetWidth(max(10, m.width-listWidth-3))
		return m, nil
	case ChangedMsg:
		m.reload()
		return m, m.markRead()
	case StatusMsg:
		m.status = offline.Status(msg)
		return m, nil
	case presenceMsg:
		for _, p := range msg {
			m.presence[p.UserID] = p.Online
		}
		return m, nil
	case tickMsg:
		now := m.now()
		for k, until := range m.typing {
			if now.After(until) {
				delete(m.typing, k)
			}
		}
		return m, tick()
	case doneMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		} else if msg.info != "" {
			m.info(msg.info)
		}
		m.reload()
		if msg.open != "" {
			return m, m.open(msg.open)
		}
		return m, nil
	case EventMsg:
		return m.event(client.Event(msg))
	case tea.PasteMsg:
		if m.focus == focusCompose {
			var cmd tea.Cmd
			m.compose, cmd = m.compose.Update(msg)
			return m, cmd
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	if m.focus == focusCompose {
		var cmd tea.Cmd
		m.compose, cmd = m.compose.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m Model) event(e client.Event) (tea.Model, tea.Cmd) {
	switch e.Type {
	case "connected":
		ids := map[string]bool{}
		for _, c := range m.convs {
			for _, id := range c.MemberIDs {
				if id != m.b.Self() {
					ids[id] = true
				}
			}
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		b, timeout := m.b, m.opts.Timeout
		return m, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			ps, err := b.WatchPresence(ctx, list)
			if err != nil {
				return doneMsg{}
			}
			return presenceMsg(ps)
		}
	case "presence":
		if e.Presence != nil {
			m.presence[e.Presence.UserID] = e.Presence.Online
		}
	case "typing":
		k := e.ConversationID + "/" + e.UserID
		if e.Typing {
			m.typing[k] = m.now().Add(6 * time.Second)
		} else {
			delete(m.typing, k)
		}
	case "message":
		if e.Message == nil || e.Message.SenderID == m.b.Self() || e.Message.Kind != parley.MessageUser {
			return m, nil
		}
		delete(m.typing, e.Message.ConversationID+"/"+e.Message.SenderID)
		if !m.opts.Notify {
			return m, nil
		}
		for _, c := range m.convs {
			if c.ID == e.Message.ConversationID && c.Muted {
				return m, nil
			}
		}
		if e.Message.ConversationID == m.curID && m.scroll == 0 {
			return m, nil
		}
		text := m.name(e.Message.SenderID) + ": " + oneLine(e.Message.Body, 60)
		return m, tea.Raw("\a\x1b]9;" + sanitize(text) + "\x07")
	}
	return m, nil
}

const listWidth = 28

func (m Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "ctrl+c":
		return m, tea.Quit
	case "tab":
		m.focus = (m.focus + 1) % 3
		if m.focus == focusCompose && m.curID == "" {
			m.focus = focusMessages
		}
		if m.focus == focusMessages && m.curID == "" {
			m.focus = focusList
		}
		if m.focus == focusCompose {
			return m, m.compose.Focus()
		}
		m.compose.Blur()
		if m.focus == focusMessages && m.sel < 0 {
			m.sel = len(m.msgs) - 1
		}
		return m, nil
	case "pgup":
		m.scroll += max(1, m.msgHeight()-2)
		if m.scroll > m.totalLines()-m.msgHeight() && len(m.msgs) >= m.limit {
			m.limit += 200 // reach further back in the local history
			m.reload()
		}
		return m, nil
	case "pgdown":
		m.scroll = max(0, m.scroll-max(1, m.msgHeight()-2))
		return m, m.markRead()
	}
	switch m.focus {
	case focusList:
		return m.listKey(k)
	case focusMessages:
		return m.messagesKey(k)
	}
	return m.composeKey(k)
}

func (m Model) listKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	i := m.index()
	switch k.String() {
	case "up", "k":
		if i > 0 {
			m.curID = m.convs[i-1].ID
		} else if i < 0 && len(m.convs) > 0 {
			m.curID = m.convs[0].ID
		}
		m.sel, m.scroll, m.limit = -1, 0, 200
		m.reload()
	case "down", "j":
		if i+1 < len(m.convs) {
			m.curID = m.convs[i+1].ID
		}
		m.sel, m.scroll, m.limit = -1, 0, 200
		m.reload()
	case "enter", "right", "l":
		if m.curID == "" && len(m.convs) > 0 {
			m.curID = m.convs[0].ID
		}
		if m.curID != "" {
			return m, m.open(m.curID)
		}
	case "q":
		return m, tea.Quit
	}
	return m, nil
}

func (m *Model) index() int {
	for i, c := range m.convs {
		if c.ID == m.curID {
			return i
		}
	}
	return -1
}

func (m Model) messagesKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	sel := m.selected()
	switch k.String() {
	case "up", "k":
		if m.sel > 0 {
			m.sel--
		} else if m.sel < 0 {
			m.sel = len(m.msgs) - 1
		}
	case "down", "j":
		if m.sel+1 < len(m.msgs) {
			m.sel++
		}
	case "esc", "i":
		m.focus = focusCompose
		return m, m.compose.Focus()
	case "r":
		if sel != nil {
			m.replyTo, m.editing = sel.Seq, 0
			m.focus = focusCompose
			return m, m.compose.Focus()
		}
	case "e":
		if sel != nil {
			if sel.SenderID != m.b.Self() || sel.Deleted || sel.Kind != parley.MessageUser {
				m.setErr(fmt.Errorf("only your own messages can be edited"))
				return m, nil
			}
			m.editing, m.replyTo = sel.Seq, 0
			m.compose.SetValue(sel.Body)
			m.focus = focusCompose
			return m, m.compose.Focus()
		}
	case "+":
		if sel != nil {
			return m, m.react(sel.Seq, "👍", true)
		}
	case "-":
		if sel != nil {
			return m, m.react(sel.Seq, "👍", false)
		}
	case "d":
		if sel != nil && len(sel.Attachments) > 0 {
			return m, m.download(sel.Attachments)
		}
		m.setErr(fmt.Errorf("the selected message has no attachment"))
	case "left", "h":
		m.focus = focusList
		m.compose.Blur()
	}
	return m, nil
}

func (m *Model) selected() *parley.Message {
	if m.sel < 0 || m.sel >= len(m.msgs) {
		return nil
	}
	return &m.msgs[m.sel]
}

func (m Model) composeKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "esc":
		if m.replyTo != 0 || m.editing != 0 {
			if m.editing != 0 {
				m.compose.Reset()
			}
			m.replyTo, m.editing = 0, 0
			return m, nil
		}
		m.focus = focusMessages
		m.compose.Blur()
		if m.sel < 0 {
			m.sel = len(m.msgs) - 1
		}
		return m, nil
	case "enter":
		text := m.compose.Value()
		if strings.TrimSpace(text) == "" {
			return m, nil
		}
		m.compose.Reset()
		m.lastTyping = time.Time{}
		if m.curID != "" {
			m.b.Typing(m.curID, false)
		}
		if strings.HasPrefix(text, "/") {
			return m.command(text)
		}
		if m.curID == "" {
			m.setErr(fmt.Errorf("open a conversation first (tab, or /dm username)"))
			return m, nil
		}
		if m.editing != 0 {
			seq := m.editing
			m.editing = 0
			return m, m.do(func(ctx context.Context) (string, error) {
				return "edited", m.b.Edit(ctx, m.curID, seq, text)
			})
		}
		err := m.b.Send(m.curID, client.SendRequest{Body: text, ReplyTo: m.replyTo})
		m.replyTo = 0
		if err != nil {
			m.setErr(err)
		} else {
			m.scroll = 0
		}
		m.reload()
		return m, nil
	}
	var cmd tea.Cmd
	m.compose, cmd = m.compose.Update(k)
	if m.curID != "" && m.compose.Value() != "" && m.now().Sub(m.lastTyping) > 3*time.Second {
		m.lastTyping = m.now()
		m.b.Typing(m.curID, true)
	}
	return m, cmd
}

// command runs a /command typed in the compose box.
func (m Model) command(text string) (tea.Model, tea.Cmd) {
	name, arg, _ := strings.Cut(strings.TrimSpace(text), " ")
	arg = strings.TrimSpace(arg)
	conv := m.curID
	needConv := func() bool {
		if conv == "" {
			m.setErr(fmt.Errorf("%s: open a conversation first", name))
			return false
		}
		return true
	}
	switch name {
	case "/help":
		m.info("keys: tab focus · ↑↓ select · enter open/send · alt+enter newline · r reply · e edit · +/- 👍 · d download · pgup/pgdn scroll · ctrl+c quit;" +
			" /dm USER · /edm USER (encrypted) · /safety · /verify · /upload PATH [caption] · /react EMOJI · /unreact EMOJI · /retry · /discard · /quit")
	case "/quit":
		return m, tea.Quit
	case "/dm":
		if arg == "" {
			m.setErr(fmt.Errorf("/dm needs a username"))
			return m, nil
		}
		b := m.b
		return m, m.doOpen(func(ctx context.Context) (string, error) { return b.OpenDirect(ctx, arg) })
	case "/edm":
		if arg == "" {
			m.setErr(fmt.Errorf("/edm needs a username"))
			return m, nil
		}
		b := m.b
		return m, m.doOpen(func(ctx context.Context) (string, error) { return b.OpenEncryptedDirect(ctx, arg) })
	case "/safety":
		if !needConv() {
			return m, nil
		}
		b := m.b
		return m, m.do(func(ctx context.Context) (string, error) { return b.Safety(ctx, conv) })
	case "/verify":
		if !needConv() {
			return m, nil
		}
		b := m.b
		return m, m.do(func(context.Context) (string, error) { return b.Verify(conv) })
	case "/upload":
		if !needConv() {
			return m, nil
		}
		if arg == "" {
			m.setErr(fmt.Errorf("/upload needs a file path"))
			return m, nil
		}
		path, caption, _ := strings.Cut(arg, " ")
		reply := m.replyTo
		m.replyTo = 0
		return m, m.do(func(ctx context.Context) (string, error) {
			return "uploaded " + path, m.b.Upload(ctx, conv, path, caption, reply)
		})
	case "/react", "/unreact":
		sel := m.selected()
		if !needConv() {
			return m, nil
		}
		if sel == nil && len(m.msgs) > 0 {
			sel = &m.msgs[len(m.msgs)-1]
		}
		if sel == nil || arg == "" {
			m.setErr(fmt.Errorf("%s needs an emoji and a message (select one with tab, ↑↓)", name))
			return m, nil
		}
		return m, m.react(sel.Seq, arg, name == "/react")
	case "/retry", "/discard":
		for _, o := range m.outbox {
			if o.State != offline.Failed {
				continue
			}
			var err error
			if name == "/retry" {
				err = m.b.Retry(o.ClientMsgID)
			} else {
				err = m.b.Discard(o.ClientMsgID)
			}
			if err != nil {
				m.setErr(err)
			}
		}
		m.reload()
	default:
		m.setErr(fmt.Errorf("unknown command %s (/help)", name))
	}
	return m, nil
}

func (m *Model) react(seq int64, emoji string, add bool) tea.Cmd {
	conv, b := m.curID, m.b
	return m.do(func(ctx context.Context) (string, error) { return "", b.React(ctx, conv, seq, emoji, add) })
}

func (m *Model) download(as []parley.Attachment) tea.Cmd {
	b, dir := m.b, m.opts.DownloadDir
	return m.do(func(ctx context.Context) (string, error) {
		var paths []string
		for _, a := range as {
			p, err := b.Download(ctx, a, dir)
			if err != nil {
				return "", err
			}
			paths = append(paths, p)
		}
		return "saved " + strings.Join(paths, ", "), nil
	})
}

// do runs a network operation off the update loop.
func (m *Model) do(f func(ctx context.Context) (string, error)) tea.Cmd {
	timeout := m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		info, err := f(ctx)
		return doneMsg{info: info, err: err}
	}
}

func (m *Model) doOpen(f func(ctx context.Context) (string, error)) tea.Cmd {
	timeout := m.opts.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		id, err := f(ctx)
		return doneMsg{err: err, open: id}
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// sanitize drops control characters (which could end an escape sequence
// early or inject another).
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
