package xmpp

import (
	"context"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// The roster is derived, not stored: the caller's contacts and every user
// they have a direct conversation with, subscription "both". Presence follows Parley's: a
// user is online while any of their devices (WebSocket or XMPP) is
// connected and has sent initial presence.

func createDirect(peerID string) app.CreateConversationInput {
	return app.CreateConversationInput{Kind: parley.KindDirect, MemberIDs: []string{peerID}}
}

// directPeers lists the caller's direct conversations: peer id → conversation id.
func (c *conn) directPeers(ctx context.Context) (map[string]string, error) {
	peers := map[string]string{}
	cursor := ""
	for page := 0; page < 50; page++ {
		entries, next, err := c.s.app.ListConversations(ctx, c.actor, cursor, app.MaxPageLimit)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Kind != parley.KindDirect {
				continue
			}
			ci, err := c.s.conversation(ctx, c.actor, e.ID)
			if err != nil {
				return nil, err
			}
			peers[ci.peer(c.actor.UserID)] = e.ID
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for p, id := range peers {
		c.peers[p] = id
	}
	return peers, nil
}

func (c *conn) roster(el, q *element) {
	if el.attr("type") == "set" {
		// Roster edits (names, groups) are not stored: Parley has no contact
		// list of its own yet. Accepted so clients carry on.
		c.iqResult(el, nil)
		return
	}
	peers, err := c.directPeers(c.ctx)
	if err != nil {
		c.iqAppError(el, err)
		return
	}
	ids := make([]string, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
	}
	// Contacts (accepted contact requests) are on the roster too.
	cursor := ""
	for page := 0; page < 50; page++ {
		cs, next, err := c.s.app.Contacts(c.ctx, c.actor, cursor, app.MaxPageLimit)
		if err != nil {
			c.iqAppError(el, err)
			return
		}
		for _, ct := range cs {
			if _, dup := peers[ct.UserID]; !dup {
				peers[ct.UserID] = ""
				ids = append(ids, ct.UserID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	users := make([]parley.User, 0, len(ids))
	for i := 0; i < len(ids); i += app.MaxLookupIDs {
		us, err := c.s.app.LookupUsers(c.ctx, c.actor, ids[i:min(i+app.MaxLookupIDs, len(ids))])
		if err != nil {
			c.iqAppError(el, err)
			return
		}
		users = append(users, us...)
	}
	c.iqResult(el, func(b *xb) {
		b.open("query", "xmlns", nsRoster)
		for _, u := range users {
			c.s.names.Store(u.ID, u.Username)
			b.empty("item", "jid", c.s.bare(u.Username), "name", u.DisplayName, "subscription", "both")
		}
		b.close("query")
	})
}

func presenceStanza(b *xb, from, to string, online bool) {
	if online {
		b.empty("presence", "from", from, "to", to, "xmlns", nsClient)
	} else {
		b.empty("presence", "from", from, "to", to, "type", "unavailable", "xmlns", nsClient)
	}
}

// presence handles an inbound <presence/>.
func (c *conn) presence(el *element) {
	to := parseJID(el.attr("to"))
	if to.domain == c.s.mucDomain() {
		c.mucPresence(el, to)
		return
	}
	typ := el.attr("type")
	if el.attr("to") != "" && to.bare() != c.s.bare(c.user.Username) {
		c.directedPresence(el, to, typ)
		return
	}
	switch typ {
	case "":
		if !c.available {
			c.available = true
			c.online.Store(true)
			c.s.rt.Connected(c.ctx, c.actor)
			c.initialPresence()
		}
		var b xb
		presenceStanza(&b, c.jid, c.jid, true)
		c.send(b.Bytes(), true)
	case "unavailable":
		if c.available {
			c.available = false
			c.online.Store(false)
			c.s.rt.Disconnected(c.ctx, c.actor)
		}
	}
}

// initialPresence sends the presence of the roster and subscribes the
// session to their changes, then delivers offline messages.
func (c *conn) initialPresence() {
	ctx := c.ctx
	peers, err := c.directPeers(ctx)
	if err != nil {
		c.log.Warn("xmpp roster", "err", err)
		return
	}
	ids := make([]string, 0, len(peers))
	topics := make([]string, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
		topics = append(topics, parley.PresenceTopic(id))
	}
	c.s.hub.subscribe(c, topics...)
	sts, err := c.s.rt.WatchPresence(ctx, c.actor, ids)
	if err != nil {
		c.log.Warn("xmpp presence", "err", err)
	}
	var b xb
	for _, st := range sts {
		if st.Online {
			if name := c.s.username(ctx, c.actor, st.UserID); name != "" {
				presenceStanza(&b, c.s.bare(name)+"/parley", c.jid, true)
				c.send(append([]byte(nil), b.Bytes()...), true)
				b.Reset()
			}
		}
	}
	c.offline(ctx, peers)
}

// offlineMax is how many undelivered messages per conversation are pushed at
// initial presence; older ones are in the archive (MAM).
const offlineMax = 100

// offline delivers, as offline messages with their original time
// (XEP-0203), what others sent in direct conversations since the caller's
// delivered receipt, then advances that receipt.
func (c *conn) offline(ctx context.Context, peers map[string]string) {
	states, err := c.s.rt.SyncState(ctx, c.actor)
	if err != nil {
		return
	}
	direct := map[string]bool{}
	for _, id := range peers {
		direct[id] = true
	}
	for _, st := range states {
		if !direct[st.ConversationID] || st.LastSeq <= st.DeliveredSeq {
			continue
		}
		after := max(st.DeliveredSeq, st.LastSeq-offlineMax)
		ms, err := c.s.rt.History(ctx, c.actor, st.ConversationID, after, 0, offlineMax)
		if err != nil {
			continue
		}
		var last int64
		for i := range ms {
			m := &ms[i]
			if m.Kind != parley.MessageUser || m.Deleted || m.SenderID == c.actor.UserID {
				continue
			}
			name := c.s.username(ctx, c.actor, m.SenderID)
			if name == "" {
				continue
			}
			if !c.rememberFirst(stanzaID(m), msgRef{m.ConversationID, m.Seq}) {
				last = m.Seq
				continue // delivered live already
			}
			var b xb
			c.delayedStanza(&b, m, c.s.bare(name), c.jid)
			c.send(b.Bytes(), true)
			last = m.Seq
		}
		if last > 0 {
			_, _ = c.s.rt.MarkDelivered(ctx, c.actor, st.ConversationID, last)
		}
	}
}

// delayedStanza is chatStanza with a <delay/> stamp.
func (c *conn) delayedStanza(b *xb, m *parley.Message, from, to string) {
	var inner xb
	c.chatStanza(&inner, m, from, to, "chat", false)
	s := inner.String()
	s = s[:len(s)-len("</message>")]
	b.WriteString(s)
	b.empty("delay", "xmlns", nsDelay, "from", c.s.cfg.Domain, "stamp", m.CreatedAt.UTC().Format(time.RFC3339Nano))
	b.close("message")
}

// directedPresence answers subscription requests: Parley has no separate
// subscriptions, so users who share a conversation are approved at once and
// others get no answer (presence never reveals who exists).
func (c *conn) directedPresence(el *element, to jid, typ string) {
	if to.domain != c.s.cfg.Domain || to.local == "" {
		return
	}
	switch typ {
	case "subscribe", "probe":
	default:
		return
	}
	u, err := c.s.app.UserByUsername(c.ctx, c.actor, to.local)
	if err != nil {
		return
	}
	sts, err := c.s.rt.WatchPresence(c.ctx, c.actor, []string{u.ID})
	if err != nil || len(sts) == 0 {
		return
	}
	c.s.hub.subscribe(c, parley.PresenceTopic(u.ID))
	var b xb
	if typ == "subscribe" {
		b.empty("presence", "from", c.s.bare(u.Username), "to", c.s.bare(c.user.Username), "type", "subscribed")
	}
	presenceStanza(&b, c.s.bare(u.Username)+"/parley", c.jid, sts[0].Online)
	c.send(b.Bytes(), true)
}
