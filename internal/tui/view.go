package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client/offline"
)

var (
	stTitle    = lipgloss.NewStyle().Bold(true)
	stDim      = lipgloss.NewStyle().Faint(true)
	stSel      = lipgloss.NewStyle().Reverse(true)
	stErr      = lipgloss.NewStyle().Foreground(lipgloss.Color("9"))
	stOK       = lipgloss.NewStyle().Foreground(lipgloss.Color("10"))
	stWarn     = lipgloss.NewStyle().Foreground(lipgloss.Color("11"))
	stName     = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12"))
	stSelfName = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("13"))
)

// View implements tea.Model.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "parley chat"
	return v
}

// Render returns the screen as text (View's content).
func (m Model) Render() string {
	h := max(8, m.height)
	body := h - 1 // the state line
	list := m.renderList(body)
	right := m.renderRight(max(10, m.width-listWidth-1), body)
	sep := strings.TrimSuffix(strings.Repeat("│\n", body), "\n")
	screen := lipgloss.JoinHorizontal(lipgloss.Top, list, sep, right)
	return screen + "\n" + m.renderState()
}

func (m Model) name(userID string) string {
	if u, ok := m.users[userID]; ok {
		if u.DisplayName != "" {
			return u.DisplayName
		}
		return u.Username
	}
	if len(userID) > 8 {
		return userID[:8]
	}
	return userID
}

// title names a conversation: its title, or the other member of a direct chat.
func (m Model) title(c offline.Conversation) string {
	if c.Encrypted {
		c.Encrypted = false
		return Lock + " " + m.title(c)
	}
	if c.Title != "" {
		return c.Title
	}
	var others []string
	for _, id := range c.MemberIDs {
		if id != m.b.Self() {
			others = append(others, m.name(id))
		}
	}
	if len(others) > 0 {
		return strings.Join(others, ", ")
	}
	if c.Kind == "" {
		return c.ID[:min(8, len(c.ID))]
	}
	return string(c.Kind)
}

// online reports whether another member of c is online.
func (m Model) online(c offline.Conversation) bool {
	for _, id := range c.MemberIDs {
		if id != m.b.Self() && m.presence[id] {
			return true
		}
	}
	return false
}

func (m Model) renderList(height int) string {
	var b strings.Builder
	head := "Conversations"
	if m.focus == focusList {
		head = "▸ " + head
	}
	b.WriteString(stTitle.Render(pad(head, listWidth)) + "\n")
	lines := 1
	for _, c := range m.convs {
		if lines >= height {
			break
		}
		dot := "○ "
		if m.online(c) {
			dot = stOK.Render("● ")
		}
		t := m.title(c)
		suffix := ""
		if c.Unread > 0 {
			suffix = fmt.Sprintf(" (%d)", c.Unread)
		}
		if c.Pending > 0 {
			suffix += " ↑"
		}
		if c.Gone {
			suffix += " ✕"
		}
		row := truncate(t, listWidth-2-lipgloss.Width(suffix)) + suffix
		row = pad(row, listWidth-2)
		if c.Unread > 0 {
			row = stTitle.Render(row)
		}
		if c.ID == m.curID {
			row = stSel.Render(row)
		}
		b.WriteString(dot + row + "\n")
		lines++
	}
	for ; lines < height; lines++ {
		b.WriteString(strings.Repeat(" ", listWidth) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (m Model) msgHeight() int {
	return max(3, max(8, m.height)-1-1-1-m.compose.Height()-1)
}

// messageLines renders the open conversation's messages and outbox as
// lines of width w; sel is the line range of the selected message.
func (m Model) messageLines(w int) []string {
	var lines []string
	readBy := map[int64][]string{}
	for _, r := range m.receipts {
		if r.UserID != m.b.Self() {
			readBy[r.ReadSeq] = append(readBy[r.ReadSeq], r.UserID)
		}
	}
	maxOtherRead := int64(0)
	for _, r := range m.receipts {
		if r.UserID != m.b.Self() {
			maxOtherRead = max(maxOtherRead, r.ReadSeq)
		}
	}
	for i, msg := range m.msgs {
		var head strings.Builder
		head.WriteString(stDim.Render(msg.CreatedAt.Local().Format("15:04")) + " ")
		if msg.Kind == parley.MessageSystem {
			lines = append(lines, wrap(stDim.Render(msg.CreatedAt.Local().Format("15:04")+" · "+m.system(msg)), w)...)
			continue
		}
		if msg.SenderID == m.b.Self() {
			head.WriteString(stSelfName.Render(m.name(msg.SenderID)))
		} else {
			head.WriteString(stName.Render(m.name(msg.SenderID)))
		}
		head.WriteString(stDim.Render(fmt.Sprintf(" #%d", msg.Seq)))
		if msg.ReplyTo != 0 {
			head.WriteString(stDim.Render(fmt.Sprintf(" ↪ #%d", msg.ReplyTo)))
		}
		if msg.SenderID == m.b.Self() {
			if maxOtherRead >= msg.Seq {
				head.WriteString(stOK.Render(" ✓✓"))
			} else {
				head.WriteString(stDim.Render(" ✓"))
			}
		}
		body := msg.Body
		switch {
		case msg.Deleted:
			body = stDim.Render("(deleted)")
		case msg.EditedAt != nil:
			body += stDim.Render(" (edited)")
		}
		block := wrap(head.String(), w)
		for _, l := range strings.Split(body, "\n") {
			block = append(block, indent(l, w)...)
		}
		for _, a := range msg.Attachments {
			block = append(block, wrap(fmt.Sprintf("  📎 %s (%s)", a.Name, size(a.Size)), w)...)
		}
		if len(msg.Reactions) > 0 {
			var rs []string
			for _, r := range msg.Reactions {
				rs = append(rs, fmt.Sprintf("%s %d", r.Emoji, r.Count))
			}
			block = append(block, "  "+strings.Join(rs, "  "))
		}
		if names := readBy[msg.Seq]; len(names) > 0 {
			var ns []string
			for _, id := range names {
				ns = append(ns, m.name(id))
			}
			sort.Strings(ns)
			block = append(block, stDim.Render(truncate("  seen by "+strings.Join(ns, ", "), w)))
		}
		if m.focus == focusMessages && i == m.sel {
			for j := range block {
				block[j] = stSel.Render(pad(stripWidth(block[j], w), w))
			}
		}
		lines = append(lines, block...)
	}
	for _, o := range m.outbox {
		mark := stWarn.Render("… sending")
		if m.status.State != offline.Online {
			mark = stWarn.Render("… queued (offline)")
		}
		if o.State == offline.Failed {
			reason := "failed"
			if o.Err != nil {
				reason = "failed: " + string(o.Err.Code) + " " + o.Err.Message
			}
			mark = stErr.Render("✗ " + reason + " (/retry, /discard)")
		}
		lines = append(lines, wrap(stSelfName.Render(m.name(m.b.Self()))+" "+mark, w)...)
		for _, l := range strings.Split(o.Body, "\n") {
			lines = append(lines, indent(l, w)...)
		}
		if len(o.AttachmentIDs) > 0 {
			lines = append(lines, fmt.Sprintf("  📎 %d file(s)", len(o.AttachmentIDs)))
		}
	}
	return lines
}

func (m Model) totalLines() int { return len(m.messageLines(max(10, m.width-listWidth-1))) }

func (m Model) system(msg parley.Message) string {
	if msg.System == nil {
		return "system message"
	}
	var names []string
	for _, id := range msg.System.UserIDs {
		names = append(names, m.name(id))
	}
	actor := m.name(msg.System.ActorID)
	switch msg.System.Action {
	case parley.SystemCreated:
		return actor + " started the conversation"
	case parley.SystemMembersAdded:
		return actor + " added " + strings.Join(names, ", ")
	case parley.SystemMemberLeft:
		return strings.Join(names, ", ") + " left"
	case parley.SystemMemberRemoved:
		return actor + " removed " + strings.Join(names, ", ")
	case parley.SystemConversationUp:
		return actor + " changed the conversation"
	}
	return string(msg.System.Action)
}

func (m Model) renderRight(w, height int) string {
	var out []string
	c, ok := m.current()
	if !ok {
		out = append(out, stTitle.Render("No conversation open"),
			stDim.Render("↑↓ and enter pick one; /dm USERNAME starts a direct chat; /help lists keys"))
		for len(out) < height {
			out = append(out, "")
		}
		return lipgloss.NewStyle().Width(w).Render(strings.Join(out[:height], "\n"))
	}
	head := stTitle.Render(truncate(m.title(c), w/2))
	if m.online(c) {
		head += stOK.Render(" ● online")
	}
	if t := m.typers(c.ID); t != "" {
		head += stDim.Render(" · " + t)
	}
	out = append(out, truncate(head, w))
	mh := m.msgHeight()
	lines := m.messageLines(w)
	end := len(lines) - m.scroll
	if end < mh {
		end = min(len(lines), mh)
	}
	start := max(0, end-mh)
	visible := lines[start:end]
	for len(visible) < mh {
		visible = append([]string{""}, visible...)
	}
	out = append(out, visible...)
	hint := ""
	switch {
	case m.editing != 0:
		hint = fmt.Sprintf("editing #%d (esc cancels)", m.editing)
	case m.replyTo != 0:
		hint = fmt.Sprintf("replying to #%d (esc cancels)", m.replyTo)
	case m.scroll > 0:
		hint = fmt.Sprintf("↑ %d lines up (pgdown returns)", m.scroll)
	}
	out = append(out, stDim.Render(truncate(hint, w)))
	out = append(out, m.compose.View())
	return lipgloss.NewStyle().Width(w).MaxHeight(height).Render(strings.Join(out, "\n"))
}

func (m Model) typers(conv string) string {
	var ns []string
	for k := range m.typing {
		c, u, _ := strings.Cut(k, "/")
		if c == conv && u != m.b.Self() {
			ns = append(ns, m.name(u))
		}
	}
	if len(ns) == 0 {
		return ""
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ") + " typing…"
}

func (m Model) renderState() string {
	var s string
	switch m.status.State {
	case offline.Online:
		s = stOK.Render("● online")
	case offline.Connecting:
		s = stWarn.Render("◌ connecting…")
	case offline.SignedOut:
		s = stErr.Render("✕ signed out: run parley chat login")
	default:
		s = stErr.Render("○ offline — reconnecting")
		if m.status.Err != nil {
			s += stDim.Render(" (" + oneLine(m.status.Err.Error(), 40) + ")")
		}
		if !m.status.Since.IsZero() {
			s += stDim.Render(" since " + m.status.Since.Local().Format(time.TimeOnly))
		}
	}
	pending := 0
	for _, c := range m.convs {
		pending += c.Pending
	}
	if pending > 0 {
		s += stWarn.Render(fmt.Sprintf(" · %d unsent", pending))
	}
	if m.flash != "" {
		if m.flashErr {
			s += " · " + stErr.Render(m.flash)
		} else {
			s += " · " + m.flash
		}
	}
	return truncate(s, max(10, m.width))
}

func wrap(s string, w int) []string {
	if w <= 0 {
		return []string{s}
	}
	return strings.Split(lipgloss.NewStyle().Width(w).Render(s), "\n")
}

// indent wraps s to w-2 columns and indents every line by two.
func indent(s string, w int) []string {
	lines := wrap(s, max(1, w-2))
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return lines
}

func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(w).Render(s)
}

func stripWidth(s string, w int) string { return truncate(s, w) }

func pad(s string, w int) string {
	if d := w - lipgloss.Width(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
