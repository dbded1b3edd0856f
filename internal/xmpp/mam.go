package xmpp

import (
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Message archive management (XEP-0313) served from the conversation
// history. An archive query names one conversation: "with" a user (the
// direct conversation) or addressed to a room (a group or channel).
// Archive ids are "<conversation id>.<seq>", the same as the stanza-id
// (XEP-0359) live messages carry, so clients de-duplicate the two.

const mamDefaultMax = 50

func (c *conn) mam(el, q *element, to jid) {
	if el.attr("type") == "get" {
		c.iqResult(el, func(b *xb) {
			b.open("query", "xmlns", nsMAM).open("x", "xmlns", nsData, "type", "form").
				open("field", "var", "FORM_TYPE", "type", "hidden").elem("value", nsMAM).close("field").
				empty("field", "var", "with", "type", "jid-single").
				close("x").close("query")
		})
		return
	}
	fields := map[string]string{}
	if x := q.child(nsData, "x"); x != nil {
		for i := range x.Nodes {
			f := &x.Nodes[i]
			if f.XMLName.Local == "field" {
				if v := f.child(nsData, "value"); v != nil {
					fields[f.attr("var")] = v.Text
				}
			}
		}
	}
	for k := range fields {
		switch k {
		case "FORM_TYPE", "with":
		case "start", "end":
			// Time bounds are not supported yet; refuse rather than return
			// a page that ignores them.
			c.send(iqError(el, "cancel", "feature-not-implemented", "filtering by time is not supported; page with RSM", ""), true)
			return
		default:
			c.send(iqError(el, "modify", "bad-request", "unknown field "+k, ""), true)
			return
		}
	}
	var conv string
	var err error
	switch {
	case to.domain == c.s.mucDomain() && to.local != "":
		conv = to.local
	case fields["with"] != "":
		w := parseJID(fields["with"])
		if w.domain != c.s.cfg.Domain || w.local == "" {
			c.send(iqError(el, "cancel", "item-not-found", "no archive with that address", ""), true)
			return
		}
		var u parley.User
		if u, err = c.s.app.UserByUsername(c.ctx, c.actor, w.local); err == nil {
			var cv parley.Conversation
			cv, err = c.s.app.DirectConversation(c.ctx, c.actor, u.ID)
			conv = cv.ID
		}
		if parley.IsCode(err, parley.CodeNotFound) {
			c.iqResult(el, func(b *xb) { // no conversation yet: an empty archive
				b.open("fin", "xmlns", nsMAM, "complete", "true").empty("set", "xmlns", nsRSM).close("fin")
			})
			return
		}
		if err != nil {
			c.iqAppError(el, err)
			return
		}
	default:
		c.send(iqError(el, "modify", "bad-request", "name the conversation: a 'with' field, or query a room", ""), true)
		return
	}

	// Without RSM, or with <after/>, pages run oldest first from the start
	// (XEP-0313 §4.3); an empty <before/> asks for the last page.
	limit := mamDefaultMax
	in := app.HistoryInput{}
	if set := q.child(nsRSM, "set"); set != nil {
		if m := set.child(nsRSM, "max"); m != nil {
			n, err := strconv.Atoi(m.Text)
			if err != nil || n < 0 {
				c.send(iqError(el, "modify", "bad-request", "max must be a number", ""), true)
				return
			}
			limit = min(n, app.MaxPageLimit)
		}
		if a := set.child(nsRSM, "after"); a != nil {
			ac, seq, ok := parseArchiveID(a.Text)
			if !ok || ac != conv {
				c.send(iqError(el, "cancel", "item-not-found", "unknown archive id in <after/>", ""), true)
				return
			}
			in = app.HistoryInput{After: seq}
		} else if bf := set.child(nsRSM, "before"); bf != nil && strings.TrimSpace(bf.Text) == "" {
			in = app.HistoryInput{Latest: true}
		} else if bf != nil {
			bc, seq, ok := parseArchiveID(bf.Text)
			if !ok || bc != conv {
				c.send(iqError(el, "cancel", "item-not-found", "unknown archive id in <before/>", ""), true)
				return
			}
			in = app.HistoryInput{Before: seq}
		}
	}
	var ms []parley.Message
	if limit > 0 {
		in.Limit = limit + 1
		if ms, err = c.s.app.History(c.ctx, c.actor, conv, in); err != nil {
			c.iqAppError(el, err)
			return
		}
	}
	complete := len(ms) <= limit
	if !complete {
		ms = ms[:limit] // the one beyond the page: newest of an After page, oldest of a Before page
	}
	if in.Before > 0 || in.Latest { // these pages come newest first
		for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
			ms[i], ms[j] = ms[j], ms[i]
		}
	}
	ci, err := c.s.conversation(c.ctx, c.actor, conv)
	if err != nil {
		c.iqAppError(el, err)
		return
	}
	qid := q.attr("queryid")
	archive := "" // results come from the archive's JID: the room's, or (none given) the user's own
	if ci.kind != parley.KindDirect {
		archive = c.roomJID(conv)
	}
	var first, last string
	for i := range ms {
		m := &ms[i]
		if m.Kind != parley.MessageUser || m.Deleted {
			continue
		}
		from, to, typ := c.archivedAddrs(ci, m)
		if from == "" {
			continue
		}
		aid := archiveID(conv, m.Seq)
		if first == "" {
			first = aid
		}
		last = aid
		var b xb
		b.open("message", "from", archive, "to", c.jid, "id", randomID()).
			open("result", "xmlns", nsMAM, "queryid", qid, "id", aid).
			open("forwarded", "xmlns", nsForward).
			empty("delay", "xmlns", nsDelay, "stamp", m.CreatedAt.UTC().Format(time.RFC3339Nano))
		c.chatStanza(&b, m, from, to, typ, false)
		b.close("forwarded").close("result").close("message")
		if m.SenderID != c.actor.UserID {
			c.remember(stanzaID(m), msgRef{m.ConversationID, m.Seq})
		}
		c.send(b.Bytes(), true)
	}
	c.iqResult(el, func(b *xb) {
		cs := "false"
		if complete {
			cs = "true"
		}
		b.open("fin", "xmlns", nsMAM, "complete", cs).open("set", "xmlns", nsRSM)
		if first != "" {
			b.elem("first", first).elem("last", last)
		}
		b.close("set").close("fin")
	})
}

// archivedAddrs returns from, to and type of an archived message as the
// caller sees it.
func (c *conn) archivedAddrs(ci convInfo, m *parley.Message) (string, string, string) {
	name := c.s.username(c.ctx, c.actor, m.SenderID)
	if name == "" {
		return "", "", ""
	}
	if ci.kind != parley.KindDirect {
		room := m.ConversationID + "@" + c.s.mucDomain()
		return room + "/" + name, c.s.bare(c.user.Username), "groupchat"
	}
	if m.SenderID == c.actor.UserID {
		peer := c.s.username(c.ctx, c.actor, ci.peer(c.actor.UserID))
		return c.s.bare(name), c.s.bare(peer), "chat"
	}
	return c.s.bare(name), c.s.bare(c.user.Username), "chat"
}
