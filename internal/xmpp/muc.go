package xmpp

import (
	"context"
	"strings"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// Multi-user chat (XEP-0045) over groups and channels: the room
// <conversation id>@conference.<domain> is the conversation. Members enter
// by sending presence to the room; the nick is always their username (a
// different requested nick is replaced, status 210). Every member is listed
// as an occupant, with the affiliation and role of their Parley role:
// owner → owner/moderator, admin → admin/moderator, member →
// member/participant (visitor in a broadcast channel, where only managers
// post). Room messages are Parley messages (same seq, client_msg_id from
// origin-id or id) and are reflected to the sender as XEP-0045 requires.
// Joining, leaving, creating rooms and changing roles stay Parley
// operations (web, REST); the room history is served by MAM, not on join.

const (
	nsMUC     = "http://jabber.org/protocol/muc"
	nsMUCUser = "http://jabber.org/protocol/muc#user"
)

// maxOccupants bounds the occupant presences sent on join.
const maxOccupants = 500

func (c *conn) roomJID(conv string) string { return conv + "@" + c.s.mucDomain() }

// joined returns the nick under which this session joined room conv.
func (c *conn) joined(conv string) (string, bool) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n, ok := c.rooms[conv]
	return n, ok
}

func (c *conn) mucIQ(el, p *element, to jid) {
	switch p.XMLName.Space + " " + p.XMLName.Local {
	case nsDiscoI + " query":
		if to.local == "" {
			c.iqResult(el, func(b *xb) {
				b.open("query", "xmlns", nsDiscoI).empty("identity", "category", "conference", "type", "text", "name", "Parley rooms").
					empty("feature", "var", nsMUC).empty("feature", "var", nsMAM).close("query")
			})
			return
		}
		cv, err := c.s.app.Conversation(c.ctx, c.actor, to.local)
		if err == nil && cv.Kind == parley.KindDirect {
			err = parley.Errorf(parley.CodeNotFound, "conversation not found")
		}
		if err != nil {
			c.iqAppError(el, err)
			return
		}
		c.iqResult(el, func(b *xb) {
			name := cv.Title
			if name == "" {
				name = "group"
			}
			b.open("query", "xmlns", nsDiscoI).empty("identity", "category", "conference", "type", "text", "name", name)
			for _, f := range []string{nsMUC, nsMAM, "muc_persistent", "muc_nonanonymous", "muc_unmoderated"} {
				b.empty("feature", "var", f)
			}
			if cv.Public {
				b.empty("feature", "var", "muc_public").empty("feature", "var", "muc_open")
			} else {
				b.empty("feature", "var", "muc_hidden").empty("feature", "var", "muc_membersonly")
			}
			b.close("query")
		})
	case nsDiscoIt + " query":
		if to.local != "" {
			c.iqResult(el, func(b *xb) { b.empty("query", "xmlns", nsDiscoIt) })
			return
		}
		var items []parley.ConversationEntry
		cursor := ""
		for page := 0; page < 10; page++ {
			es, next, err := c.s.app.ListConversations(c.ctx, c.actor, cursor, app.MaxPageLimit)
			if err != nil {
				c.iqAppError(el, err)
				return
			}
			for _, e := range es {
				if e.Kind != parley.KindDirect {
					items = append(items, e)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		c.iqResult(el, func(b *xb) {
			b.open("query", "xmlns", nsDiscoIt)
			for _, e := range items {
				b.empty("item", "jid", c.roomJID(e.ID), "name", e.Title)
			}
			b.close("query")
		})
	case nsMAM + " query":
		c.mam(el, p, to)
	case nsPing + " ping":
		c.iqResult(el, nil)
	default:
		c.send(iqError(el, "cancel", "feature-not-implemented", "rooms are managed in Parley (web, REST)", ""), true)
	}
}

// roomOf resolves a room address to a group or channel the caller may use.
func (c *conn) roomOf(ctx context.Context, to jid) (parley.Conversation, error) {
	if to.local == "" || !parley.ValidID(to.local) {
		return parley.Conversation{}, parley.Errorf(parley.CodeNotFound, "no such room")
	}
	cv, err := c.s.app.Conversation(ctx, c.actor, to.local)
	if err != nil {
		return parley.Conversation{}, err
	}
	if cv.Kind == parley.KindDirect {
		return parley.Conversation{}, parley.Errorf(parley.CodeNotFound, "no such room")
	}
	if err := c.s.app.IsMember(ctx, c.actor, cv.ID); err != nil {
		return parley.Conversation{}, parley.Errorf(parley.CodeForbidden, "only members may enter; join in Parley first")
	}
	return cv, nil
}

func (c *conn) mucMessage(el *element, to jid) {
	if to.resource != "" && el.attr("type") != "groupchat" {
		// A private message to an occupant is a direct message to that user.
		el.Attr = append(el.Attr[:0:0], el.Attr...)
		for i := range el.Attr {
			if el.Attr[i].Name.Local == "to" {
				el.Attr[i].Value = to.resource + "@" + c.s.cfg.Domain
			}
		}
		c.message(el)
		return
	}
	cv, err := c.roomOf(c.ctx, to)
	if err == nil {
		if _, ok := c.joined(cv.ID); !ok {
			err = parley.Errorf(parley.CodeForbidden, "enter the room first")
		}
	}
	if err != nil {
		c.messageError(el, func(b *xb) { appError(b, err) })
		return
	}
	c.applyMarkers(c.ctx, el, cv.ID)
	body := el.child(nsClient, "body")
	if body == nil {
		c.chatState(c.ctx, el, cv.ID)
		return
	}
	if el.child(nsClient, "subject") != nil && body == nil {
		return
	}
	c.post(el, cv.ID, body.Text)
}

// affiliation maps a member's role to XEP-0045 affiliation and role.
func affiliation(cv parley.Conversation, r parley.MemberRole) (string, string) {
	switch r {
	case parley.RoleOwner:
		return "owner", "moderator"
	case parley.RoleAdmin:
		return "admin", "moderator"
	}
	if cv.Broadcast {
		return "member", "visitor"
	}
	return "member", "participant"
}

func (c *conn) occupant(b *xb, cv parley.Conversation, name string, role parley.MemberRole, self bool, nickChanged bool, gone bool) {
	aff, rl := affiliation(cv, role)
	typ := ""
	if gone {
		typ, rl = "unavailable", "none"
	}
	b.open("presence", "from", c.roomJID(cv.ID)+"/"+name, "to", c.jid, "type", typ, "xmlns", nsClient).
		open("x", "xmlns", nsMUCUser).empty("item", "affiliation", aff, "role", rl, "jid", c.s.bare(name))
	if self {
		b.empty("status", "code", "110").empty("status", "code", "100")
		if nickChanged {
			b.empty("status", "code", "210")
		}
	}
	b.close("x").close("presence")
}

func (c *conn) mucPresence(el *element, to jid) {
	ctx := c.ctx
	typ := el.attr("type")
	if typ == "error" {
		return
	}
	cv, err := c.roomOf(ctx, to)
	if err != nil {
		var b xb
		b.open("presence", "from", el.attr("to"), "to", c.jid, "type", "error", "xmlns", nsClient)
		if parley.IsCode(err, parley.CodeForbidden) {
			errorBody(&b, "auth", "registration-required", err.Error(), "forbidden", "")
		} else {
			appError(&b, err)
		}
		c.send(b.close("presence").Bytes(), true)
		return
	}
	if typ == "unavailable" {
		if _, ok := c.joined(cv.ID); ok {
			c.rmu.Lock()
			delete(c.rooms, cv.ID)
			c.rmu.Unlock()
			var b xb
			c.occupant(&b, cv, c.user.Username, parley.RoleMember, true, false, true)
			c.send(b.Bytes(), true)
		}
		return
	}
	if typ != "" {
		return
	}
	if _, ok := c.joined(cv.ID); ok {
		return // presence update inside the room: nothing to do
	}
	c.s.hub.subscribe(c, cv.ID)
	var selfRole parley.MemberRole = parley.RoleMember
	cursor, sent := "", 0
	for sent < maxOccupants {
		ms, next, err := c.s.app.Members(ctx, c.actor, cv.ID, cursor, app.MaxPageLimit)
		if err != nil {
			break
		}
		ids := make([]string, 0, len(ms))
		for _, m := range ms {
			ids = append(ids, m.UserID)
		}
		for i := 0; i < len(ids); i += app.MaxLookupIDs {
			us, _ := c.s.app.LookupUsers(ctx, c.actor, ids[i:min(i+app.MaxLookupIDs, len(ids))])
			for _, u := range us {
				c.s.names.Store(u.ID, u.Username)
			}
		}
		for _, m := range ms {
			if m.UserID == c.actor.UserID {
				selfRole = m.Role
				continue
			}
			name := c.s.username(ctx, c.actor, m.UserID)
			if name == "" || sent >= maxOccupants {
				continue
			}
			var b xb
			c.occupant(&b, cv, name, m.Role, false, false, false)
			c.send(b.Bytes(), true)
			sent++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	c.rmu.Lock()
	c.rooms[cv.ID] = c.user.Username
	c.rmu.Unlock()
	var b xb
	c.occupant(&b, cv, c.user.Username, selfRole, true, !strings.EqualFold(to.resource, c.user.Username), false)
	subject := cv.Topic
	if subject == "" {
		subject = cv.Title
	}
	b.open("message", "from", c.roomJID(cv.ID), "to", c.jid, "type", "groupchat", "id", randomID(), "xmlns", nsClient).
		elem("subject", subject).close("message")
	c.send(b.Bytes(), true)
}

// renderGroupMessage writes a group or channel message to a session that
// entered the room, the sender's own included (reflection).
func (c *conn) renderGroupMessage(ctx context.Context, b *xb, m *parley.Message, edited bool) {
	if _, ok := c.joined(m.ConversationID); !ok {
		return
	}
	if c.blocks(ctx)[m.SenderID] {
		return // XEP-0191: nothing from a blocked user reaches the blocker
	}
	name := c.s.username(ctx, c.actor, m.SenderID)
	if name == "" {
		return
	}
	if m.SenderID != c.actor.UserID {
		c.remember(stanzaID(m), msgRef{m.ConversationID, m.Seq})
	} else if c.isMine(m.ClientMsgID) {
		c.remember("own:"+stanzaID(m), msgRef{m.ConversationID, m.Seq})
	}
	room := c.roomJID(m.ConversationID)
	id := stanzaID(m)
	if edited {
		id = m.ID + "." + m.EditedAt.Format("150405.000")
	}
	b.open("message", "from", room+"/"+name, "to", c.jid, "type", "groupchat", "id", id, "xmlns", nsClient)
	b.elem("body", c.s.messageText(m))
	c.s.oob(b, m)
	if edited {
		b.empty("replace", "xmlns", nsCorrect, "id", stanzaID(m))
	}
	b.empty("stanza-id", "xmlns", nsSID, "by", room, "id", archiveID(m.ConversationID, m.Seq))
	if m.ClientMsgID != "" {
		b.empty("origin-id", "xmlns", nsSID, "id", m.ClientMsgID)
	}
	b.close("message")
}

// renderMembership shows members joining or leaving as occupants coming
// and going, to sessions inside the room.
func (c *conn) renderMembership(ctx context.Context, b *xb, ev *event) {
	if ev.Member == nil {
		return
	}
	if _, ok := c.joined(ev.ConversationID); !ok {
		return
	}
	cv, err := c.s.app.Conversation(ctx, c.actor, ev.ConversationID)
	if err != nil {
		if ev.Kind == parley.EventMemberLeft && ev.Member.UserID == c.actor.UserID {
			c.rmu.Lock()
			delete(c.rooms, ev.ConversationID)
			c.rmu.Unlock()
			b.open("presence", "from", c.roomJID(ev.ConversationID)+"/"+c.user.Username, "to", c.jid, "type", "unavailable", "xmlns", nsClient).
				open("x", "xmlns", nsMUCUser).empty("item", "affiliation", "none", "role", "none").
				empty("status", "code", "110").empty("status", "code", "321").close("x").close("presence")
		}
		return
	}
	name := c.s.username(ctx, c.actor, ev.Member.UserID)
	if name == "" {
		return
	}
	c.occupant(b, cv, name, ev.Member.Role, ev.Member.UserID == c.actor.UserID, false, ev.Kind == parley.EventMemberLeft)
}
