package sqlite

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
)

// messageRow is a message of messages m as one text column, for the history
// pages: the driver crosses into SQLite (and takes the connection's mutex)
// two or three times per column of every row and allocates every text
// column separately, so one column per row instead of fifteen is most of a
// page's cost (docs/benchmarks.md, "Performance round two").
//
// Layout (parseMessageRow): six integers, each followed by one space — seq,
// created_at, 1 if edited_at is set, edited_at (0 if not), reply_to,
// deleted — then nine texts, each as its length in bytes, ':' and its bytes:
// id, sender_id, client_msg_id (empty for NULL), kind, mentions, system,
// attachments, e2ee, body. A plain message (not edited, deleted or a reply;
// no mentions, system info, files or envelope: most rows) is written
// shorter, half the conversions of format(), which is most of a row's cost
// in SQLite: 's', seq and created_at, then id, sender_id, client_msg_id,
// kind and body. format()'s %s stops at a NUL byte; such a row no longer
// matches its lengths and parseMessageRow reports it.
const messageRow = `CASE WHEN m.edited_at IS NULL AND m.reply_to = 0 AND m.deleted = 0 AND m.mentions = ''
	AND m.system = '' AND m.attachments = '' AND m.e2ee = ''
THEN format('s%d %d %d:%s%d:%s%d:%s%d:%s%d:%s', m.seq, m.created_at,
	octet_length(m.id), m.id, octet_length(m.sender_id), m.sender_id,
	coalesce(octet_length(m.client_msg_id), 0), coalesce(m.client_msg_id, ''),
	octet_length(m.kind), m.kind, octet_length(m.body), m.body)
ELSE format('%d %d %d %d %d %d %d:%s%d:%s%d:%s%d:%s%d:%s%d:%s%d:%s%d:%s%d:%s',
	m.seq, m.created_at, m.edited_at IS NOT NULL, coalesce(m.edited_at, 0), m.reply_to, m.deleted,
	octet_length(m.id), m.id, octet_length(m.sender_id), m.sender_id,
	coalesce(octet_length(m.client_msg_id), 0), coalesce(m.client_msg_id, ''),
	octet_length(m.kind), m.kind, octet_length(m.mentions), m.mentions, octet_length(m.system), m.system,
	octet_length(m.attachments), m.attachments, octet_length(m.e2ee), m.e2ee, octet_length(m.body), m.body) END`

// parseMessageRow decodes a messageRow of conversationID. ok is false if
// row does not follow the layout (then only m.Seq is set, unless row is not
// a messageRow at all); err is a stored part (system, attachments) that
// does not decode.
func parseMessageRow(conversationID, row string) (m parley.Message, ok bool, err error) {
	p := rowParser{s: row}
	m.ConversationID = conversationID
	plain := strings.HasPrefix(row, "s")
	if plain {
		p.s = row[1:]
	}
	m.Seq = p.int()
	created := p.int()
	var edited, editedAt int64
	if !plain {
		edited, editedAt = p.int(), p.int()
		m.ReplyTo = p.int()
		m.Deleted = p.int() != 0
	}
	m.ID = p.text()
	m.SenderID = p.text()
	m.ClientMsgID = p.text()
	kind := p.text()
	var mentions, system, attached, e2ee string
	if !plain {
		mentions, system, attached, e2ee = p.text(), p.text(), p.text(), p.text()
	}
	m.Body = p.text()
	if p.bad || p.s != "" {
		return m, false, nil
	}
	switch kind {
	case string(parley.MessageUser):
		m.Kind = parley.MessageUser
	case string(parley.MessageSystem):
		m.Kind = parley.MessageSystem
	default:
		m.Kind = parley.MessageKind(kind)
	}
	m.CreatedAt = fromMillis(created)
	if edited != 0 {
		t := fromMillis(editedAt)
		m.EditedAt = &t
	}
	m.Mentions = splitIDs(mentions)
	if e2ee != "" {
		m.E2EE = json.RawMessage(e2ee)
	}
	if m.Attachments, err = decodeAttachments(attached); err != nil {
		return m, true, err
	}
	if system != "" {
		m.System = new(parley.SystemInfo)
		if err := json.Unmarshal([]byte(system), m.System); err != nil {
			return m, true, err
		}
	}
	return m, true, nil
}

// rowParser reads a messageRow from the front of s; bad is set (and stays
// set) at the first thing that does not fit.
type rowParser struct {
	s   string
	bad bool
}

// int reads a decimal integer and the space after it.
func (p *rowParser) int() int64 {
	i := 0
	for i < len(p.s) && p.s[i] != ' ' {
		i++
	}
	return p.number(i, 1)
}

// text reads a length, ':' and that many bytes.
func (p *rowParser) text() string {
	i := 0
	for i < len(p.s) && p.s[i] != ':' {
		i++
	}
	n := p.number(i, 1)
	if p.bad || n < 0 || n > int64(len(p.s)) {
		p.bad = true
		return ""
	}
	t := p.s[:n]
	p.s = p.s[n:]
	return t
}

// number parses s[:end] and drops it and the skip bytes after it.
func (p *rowParser) number(end, skip int) int64 {
	if p.bad || end == len(p.s) {
		p.bad = true
		return 0
	}
	v, err := strconv.ParseInt(p.s[:end], 10, 64)
	if err != nil {
		p.bad = true
		return 0
	}
	p.s = p.s[end+skip:]
	return v
}
