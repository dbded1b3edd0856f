package xmpp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// One-to-one chat: a message to username@domain is a message in the direct
// conversation with that user (created on first use); the stanza's
// origin-id (XEP-0359) or id is the client_msg_id, so a resent stanza is
// stored once.

const nsCorrect = "urn:xmpp:message-correct:0"

// clientMsgID derives the client_msg_id of an inbound message: origin-id,
// else the stanza id, else a fresh one. Ids Parley would refuse (longer than
// 64 bytes, spaces, non-ASCII) are replaced by a digest, which keeps resends
// idempotent.
func clientMsgID(el *element) string {
	id := el.attr("id")
	if o := el.child(nsSID, "origin-id"); o != nil && o.attr("id") != "" {
		id = o.attr("id")
	}
	if id == "" {
		return "xmpp-" + randomID()
	}
	ok := len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] > ' ' && id[i] < 0x7f
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "xmpp-" + hex.EncodeToString(sum[:16])
}

// messageError bounces a message back with an error.
func (c *conn) messageError(el *element, write func(b *xb)) {
	var b xb
	b.open("message", "type", "error", "id", el.attr("id"), "from", el.attr("to"), "to", c.jid)
	write(&b)
	c.send(b.close("message").Bytes(), true)
}

// directWith returns the id of the direct conversation with peer, creating it.
func (c *conn) directWith(ctx context.Context, peerID string) (string, error) {
	if id, ok := c.peers[peerID]; ok {
		return id, nil
	}
	conv, _, err := c.s.app.CreateConversation(ctx, c.actor, createDirect(peerID))
	if err != nil {
		return "", err
	}
	c.peers[peerID] = conv.ID
	c.s.hub.subscribe(c, conv.ID)
	return conv.ID, nil
}

// nameTTL is how long a session reuses a username lookup; maxNames bounds
// the lookups it keeps.
const (
	nameTTL  = time.Minute
	maxNames = 1024
)

// nameSeen is one username lookup of a session.
type nameSeen struct {
	id string
	at time.Time
}

// peerByName returns the id of the user a bare JID's local part names, as
// app.UserByUsername decides (who may see whom), remembered for nameTTL so
// a conversation costs one lookup per minute rather than one per stanza.
// Reader goroutine only.
func (c *conn) peerByName(ctx context.Context, local string) (string, error) {
	now := time.Now()
	if e, ok := c.names[local]; ok && now.Sub(e.at) < nameTTL {
		return e.id, nil
	}
	u, err := c.s.app.UserByUsername(ctx, c.actor, local)
	if err != nil {
		return "", err
	}
	if c.names == nil || len(c.names) >= maxNames {
		c.names = map[string]nameSeen{}
	}
	c.names[local] = nameSeen{id: u.ID, at: now}
	return u.ID, nil
}

// message handles an inbound <message/>.
func (c *conn) message(el *element) {
	typ := el.attr("type")
	if typ == "error" {
		return
	}
	to := parseJID(el.attr("to"))
	if to.domain == c.s.mucDomain() {
		c.mucMessage(el, to)
		return
	}
	if to.domain != c.s.cfg.Domain || to.local == "" {
		c.messageError(el, func(b *xb) {
			errorBody(b, "cancel", "service-unavailable", "this server only delivers to its own users and rooms", "", "")
		})
		return
	}
	ctx := c.ctx
	peerID, err := c.peerByName(ctx, to.local)
	if err != nil {
		c.messageError(el, func(b *xb) { appError(b, err) })
		return
	}
	conv, err := c.directWith(ctx, peerID)
	if err != nil {
		c.messageError(el, func(b *xb) { appError(b, err) })
		return
	}
	c.applyMarkers(ctx, el, conv)
	body := el.child(nsClient, "body")
	if body == nil {
		c.chatState(ctx, el, conv)
		return
	}
	c.post(el, conv, body.Text)
}

// post sends body to conversation conv and bounces errors.
func (c *conn) post(el *element, conv, body string) {
	if r := el.child(nsCorrect, "replace"); r != nil {
		c.waitSends()
		c.correct(el, conv, r.attr("id"), body)
		return
	}
	cmid := clientMsgID(el)
	c.markMine(cmid)
	oob := ""
	if x := el.child(nsOOB, "x"); x != nil {
		if u := x.child(nsOOB, "url"); u != nil {
			oob = strings.TrimSpace(u.Text)
		}
	}
	text, files := c.s.fileLinks(body, oob)
	c.pipeSend(func(ctx context.Context) {
		_, _, _, err := c.s.rt.Send(ctx, c.actor, conv, cmid, text, 0, files, nil)
		if len(files) > 0 && parley.IsCode(err, parley.CodeInvalid) {
			// Links to files that are not the sender's unsent ones (a link
			// forwarded from elsewhere) stay links.
			_, _, _, err = c.s.rt.Send(ctx, c.actor, conv, cmid, body, 0, nil, nil)
		}
		if err != nil {
			c.messageError(el, func(b *xb) { appError(b, err) })
		}
	})
}

// maxInflightSends bounds the messages one session has in flight.
const maxInflightSends = 32

// pipeSend runs send on a goroutine of its own and returns once the
// message's place in the store's commit order is fixed (parley.WithQueued)
// or send has returned, so a session is not limited to one message per
// commit and its messages keep the order it sent them in. At most
// maxInflightSends run at once. Every other stanza, <r/> and a resume wait
// for the sends before them (waitSends): stream management never counts a
// message that is not durable yet. Called by the reader goroutine only.
func (c *conn) pipeSend(send func(ctx context.Context)) {
	if c.slots == nil {
		c.slots = make(chan struct{}, maxInflightSends)
	}
	c.slots <- struct{}{}
	queued := make(chan struct{})
	var once sync.Once
	mark := func() { once.Do(func() { close(queued) }) }
	// The send outlives the session if need be: a message whose order is
	// fixed is committed (or fails) whatever the transport does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 30*time.Second)
	ctx = parley.WithQueued(ctx, mark)
	c.sends.add()
	go func() {
		defer func() {
			cancel()
			mark()
			<-c.slots
			c.sends.done()
		}()
		send(ctx)
	}()
	<-queued
}

// waitSends waits until every pipelined send has returned.
func (c *conn) waitSends() { c.sends.wait() }

// correct applies a last-message correction (XEP-0308) to a message this
// session knows by id.
func (c *conn) correct(el *element, conv, id, body string) {
	ref, ok := c.lookup("own:" + id)
	if !ok || ref.conv != conv {
		c.messageError(el, func(b *xb) {
			errorBody(b, "cancel", "item-not-found", "only messages sent in this session can be corrected", "", "")
		})
		return
	}
	if _, err := c.s.app.EditMessage(c.ctx, c.actor, conv, ref.seq, body); err != nil {
		c.messageError(el, func(b *xb) { appError(b, err) })
	}
}

// applyMarkers maps delivery receipts (XEP-0184) and chat markers
// (XEP-0333) to Parley receipts: received → delivered, displayed and
// acknowledged → read. Ids this session was not sent recently are ignored.
func (c *conn) applyMarkers(ctx context.Context, el *element, conv string) {
	for i := range el.Nodes {
		n := &el.Nodes[i]
		read := false
		switch {
		case n.XMLName.Space == nsReceipts && n.XMLName.Local == "received":
		case n.XMLName.Space == nsMarkers && n.XMLName.Local == "received":
		case n.XMLName.Space == nsMarkers && (n.XMLName.Local == "displayed" || n.XMLName.Local == "acknowledged"):
			read = true
		default:
			continue
		}
		ref, ok := c.lookup(n.attr("id"))
		if !ok || ref.conv != conv {
			continue
		}
		var err error
		if read {
			_, err = c.s.rt.MarkRead(ctx, c.actor, conv, ref.seq)
		} else {
			_, err = c.s.rt.MarkDelivered(ctx, c.actor, conv, ref.seq)
		}
		if err != nil {
			c.log.Debug("xmpp receipt", "err", err)
		}
	}
}

// chatState maps chat states (XEP-0085) to Parley typing indicators.
func (c *conn) chatState(ctx context.Context, el *element, conv string) {
	var typing bool
	switch {
	case el.child(nsChatSt, "composing") != nil:
		typing = true
	case el.child(nsChatSt, "paused") != nil, el.child(nsChatSt, "active") != nil,
		el.child(nsChatSt, "inactive") != nil, el.child(nsChatSt, "gone") != nil:
	default:
		return
	}
	if err := c.s.rt.Typing(ctx, c.actor, conv, typing); err != nil && !parley.IsCode(err, parley.CodeRateLimited) {
		c.log.Debug("xmpp typing", "err", err)
	}
}

// archiveID is a message's id in the user's archive (MAM) and its
// stanza-id (XEP-0359): conversation id and seq.
func archiveID(conv string, seq int64) string { return conv + "." + strconv.FormatInt(seq, 10) }

func parseArchiveID(s string) (string, int64, bool) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(s[i+1:], 10, 64)
	return s[:i], seq, err == nil && seq > 0 && parley.ValidID(s[:i])
}

// stanzaID is the id attribute a Parley message carries over XMPP.
func stanzaID(m *parley.Message) string {
	if m.ClientMsgID != "" {
		return m.ClientMsgID
	}
	return m.ID
}

// chatStanza writes m as a <message/> from → to of type typ.
// Live messages to a recipient request a delivery receipt (XEP-0184):
// Parley records delivery for every message, whatever the sender's client.
func (c *conn) chatStanza(b *xb, m *parley.Message, from, to, typ string, edited bool, request ...bool) {
	id := stanzaID(m)
	if edited {
		id = m.ID + "." + strconv.FormatInt(m.EditedAt.UnixMilli(), 10)
	}
	b.open("message", "from", from, "to", to, "type", typ, "id", id, "xmlns", nsClient)
	b.elem("body", c.s.messageText(m))
	c.s.oob(b, m)
	if edited {
		b.empty("replace", "xmlns", nsCorrect, "id", stanzaID(m))
	}
	b.empty("stanza-id", "xmlns", nsSID, "by", c.s.bare(c.user.Username), "id", archiveID(m.ConversationID, m.Seq))
	if m.ClientMsgID != "" {
		b.empty("origin-id", "xmlns", nsSID, "id", m.ClientMsgID)
	}
	b.empty("markable", "xmlns", nsMarkers)
	if len(request) > 0 && request[0] {
		b.empty("request", "xmlns", nsReceipts)
	}
	b.close("message")
}

// renderEvent writes the stanzas one event means for this session (maybe
// none). It runs on the writer goroutine.
func (c *conn) renderEvent(b *xb, ev *event) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	switch ev.Kind {
	case parley.EventMessage, parley.EventMessageEdited:
		c.renderMessage(ctx, b, ev.Message, ev.Kind == parley.EventMessageEdited)
	case parley.EventReceipt:
		c.renderReceipt(ctx, b, ev.Receipt)
	case parley.EventPresence:
		if c.online.Load() && ev.Presence.UserID != c.actor.UserID {
			if name := c.s.username(ctx, c.actor, ev.Presence.UserID); name != "" {
				presenceStanza(b, c.s.bare(name)+"/parley", c.jid, ev.Presence.Online)
			}
		}
	case parley.EventTyping:
		c.renderTyping(ctx, b, ev.Typing)
	case parley.EventMemberJoined, parley.EventMemberLeft, parley.EventMemberUpdated:
		c.renderMembership(ctx, b, ev)
	case parley.EventSessionRevoked:
		go c.fail(streamErr("not-authorized", "this session was signed out"))
	case app.EventBlocks:
		c.renderBlocks(b, ev.Blocks)
	}
}

func (c *conn) renderMessage(ctx context.Context, b *xb, m *parley.Message, edited bool) {
	if m == nil || m.Kind != parley.MessageUser || m.Deleted {
		return
	}
	ci, err := c.s.conversation(ctx, c.actor, m.ConversationID)
	if err != nil {
		return
	}
	if ci.kind != parley.KindDirect {
		c.renderGroupMessage(ctx, b, m, edited)
		return
	}
	me := c.actor.UserID
	if m.SenderID == me {
		if c.isMine(m.ClientMsgID) {
			c.remember("own:"+stanzaID(m), msgRef{m.ConversationID, m.Seq})
			if !edited {
				return
			}
		}
		if !c.carbons.Load() {
			return
		}
		peer := c.s.username(ctx, c.actor, ci.peer(me))
		if peer == "" {
			return
		}
		// Sent from another device: a sent carbon (XEP-0280).
		b.open("message", "from", c.s.bare(c.user.Username), "to", c.jid, "type", "chat", "xmlns", nsClient).
			open("sent", "xmlns", nsCarbons).open("forwarded", "xmlns", nsForward)
		c.chatStanza(b, m, c.s.bare(c.user.Username), c.s.bare(peer), "chat", edited)
		b.close("forwarded").close("sent").close("message")
		return
	}
	name := c.s.username(ctx, c.actor, m.SenderID)
	if name == "" {
		return
	}
	if edited {
		c.remember(stanzaID(m), msgRef{m.ConversationID, m.Seq})
	} else if !c.rememberFirst(stanzaID(m), msgRef{m.ConversationID, m.Seq}) {
		return // sent already by the offline replay
	}
	c.chatStanza(b, m, c.s.bare(name), c.jid, "chat", edited, !edited)
}

// renderReceipt tells a sender that the peer received or read their
// message: a delivery receipt (XEP-0184) and a displayed marker (XEP-0333)
// naming the newest message of theirs the receipt covers.
func (c *conn) renderReceipt(ctx context.Context, b *xb, r *parley.Receipt) {
	if r == nil || r.UserID == c.actor.UserID {
		return
	}
	ci, err := c.s.conversation(ctx, c.actor, r.ConversationID)
	if err != nil || ci.kind != parley.KindDirect {
		return
	}
	st := c.receiptState(r.ConversationID)
	name := c.s.username(ctx, c.actor, r.UserID)
	if name == "" {
		return
	}
	if r.DeliveredSeq > st.delivered {
		if m, ok := c.newestMine(ctx, r.ConversationID, r.DeliveredSeq, st.delivered); ok {
			b.open("message", "from", c.s.bare(name), "to", c.jid, "id", randomID(), "xmlns", nsClient).
				empty("received", "xmlns", nsReceipts, "id", stanzaID(&m)).
				empty("received", "xmlns", nsMarkers, "id", stanzaID(&m)).close("message")
		}
		st.delivered = r.DeliveredSeq
	}
	if r.ReadSeq > st.read {
		if m, ok := c.newestMine(ctx, r.ConversationID, r.ReadSeq, st.read); ok {
			b.open("message", "from", c.s.bare(name), "to", c.jid, "id", randomID(), "xmlns", nsClient).
				empty("displayed", "xmlns", nsMarkers, "id", stanzaID(&m)).close("message")
		}
		st.read = r.ReadSeq
	}
}

// newestMine returns the caller's newest user message with floor < seq <=
// upto (looking at most 50 messages back): the one a marker names, since a
// marker covers every earlier message too.
func (c *conn) newestMine(ctx context.Context, conv string, upto, floor int64) (parley.Message, bool) {
	ms, err := c.s.app.History(ctx, c.actor, conv, app.HistoryInput{Before: upto + 1, Limit: 50})
	if err != nil {
		return parley.Message{}, false
	}
	for _, m := range ms { // newest first
		if m.Seq <= floor {
			break
		}
		if m.SenderID == c.actor.UserID && m.Kind == parley.MessageUser && !m.Deleted {
			return m, true
		}
	}
	return parley.Message{}, false
}

type receiptSeen struct{ delivered, read int64 }

// receiptState is the writer goroutine's memory of receipts already told.
func (c *conn) receiptState(conv string) *receiptSeen {
	if c.seen == nil {
		c.seen = map[string]*receiptSeen{}
	}
	st := c.seen[conv]
	if st == nil {
		st = &receiptSeen{}
		c.seen[conv] = st
	}
	return st
}

func (c *conn) renderTyping(ctx context.Context, b *xb, t *typingFrame) {
	if t == nil || t.UserID == c.actor.UserID {
		return
	}
	ci, err := c.s.conversation(ctx, c.actor, t.ConversationID)
	if err != nil || ci.kind != parley.KindDirect {
		return
	}
	name := c.s.username(ctx, c.actor, t.UserID)
	if name == "" {
		return
	}
	state := "paused"
	if t.Typing {
		state = "composing"
	}
	b.open("message", "from", c.s.bare(name), "to", c.jid, "type", "chat", "xmlns", nsClient).
		empty(state, "xmlns", nsChatSt).close("message")
}
