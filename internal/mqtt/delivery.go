package mqtt

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley"
)

// delivery is the publish in progress: a frame for topic, the seq of the
// new message it carries (0 for edits, deletions and presence), and for a
// replay the one session it is for.
type delivery struct {
	topic  string
	conv   string
	seq    int64
	target string
}

// event routes one bus event (called from the bus's goroutine, in publish
// order, so a conversation's messages arrive in seq order):
// message/message_edited/message_deleted to parley/c/<id>/m; presence,
// retained, to parley/u/<id>/presence; a member leaving stops their
// sessions' deliveries of that conversation; a revoked session or disabled
// user is disconnected (0x87).
func (h *hook) event(e parley.Event) {
	switch e.Kind {
	case parley.EventMessage, parley.EventMessageEdited, parley.EventMessageDeleted:
		if h.lose.Load() > 0 && h.lose.Add(-1) >= 0 { // tests: a bus that lost the event
			return
		}
		d := delivery{topic: messagesTopic(e.ConversationID), conv: e.ConversationID}
		if e.Kind == parley.EventMessage {
			d.seq = frameSeq(e.Frame)
		}
		h.mu.Lock()
		h.publishLocked(d, encryptedPlaceholder(e.Frame), false)
		h.mu.Unlock()
	case parley.EventPresence:
		if uid, ok := strings.CutPrefix(e.ConversationID, parley.PresenceTopic("")); ok {
			h.mu.Lock()
			h.publishLocked(delivery{topic: presenceTopic(uid)}, e.Frame, true)
			h.mu.Unlock()
		}
	case parley.EventMemberLeft:
		h.mu.Lock()
		h.sessions.Range(func(_, v any) bool {
			s := v.(*session)
			if slices.Contains(e.Leave, s.actor.Load().UserID) {
				delete(s.convs, e.ConversationID)
			}
			return true
		})
		h.mu.Unlock()
	case parley.EventSessionRevoked:
		h.conns.Range(func(k, v any) bool {
			a := v.(parley.Actor)
			if slices.Contains(e.SessionIDs, a.SessionID) || slices.Contains(e.UserIDs, a.UserID) {
				go func() { _ = h.broker.DisconnectClient(k.(*mochi.Client), packets.ErrNotAuthorized) }()
			}
			return true
		})
	}
}

// publishLocked hands one frame to the broker, which calls OnACLCheck for
// every matching subscriber (deliverableLocked decides). mu is held.
func (h *hook) publishLocked(d delivery, frame []byte, retain bool) {
	h.cur.Store(&d)
	if err := h.broker.Publish(d.topic, frame, retain, 1); err != nil {
		h.log.Warn("mqtt publish", "topic", d.topic, "err", err)
	}
	h.cur.Store(nil)
}

// deliverableLocked decides whether message d goes to client cl of session
// s now, keeping each conversation's messages in seq order, gap-free and
// once: a message after a gap (one the bus lost, one dropped on a full
// queue, one missed while disconnected) starts a replay from the history
// instead. mu is held.
func (h *hook) deliverableLocked(cl *mochi.Client, s *session, d *delivery) bool {
	cs := s.convs[d.conv]
	if cs == nil || (d.target != "" && d.target != s.id) {
		return false
	}
	if d.seq == 0 { // an edit or deletion: live only (a replay carries the current version)
		return !cl.Closed() && h.numberable(cl, d)
	}
	if d.target != "" { // a replay
		if d.seq != cs.last+1 {
			return false
		}
		if !h.numberable(cl, d) {
			cs.stallSkipped = true
			return false
		}
		cs.last = d.seq
		h.handedLocked(cl, s, cs, d)
		return true
	}
	switch {
	case cs.replaying:
		cs.skipped = max(cs.skipped, d.seq)
		return false
	case d.seq <= cs.last:
		return false
	case cl.Closed(): // a persistent session between connections: replayed on reconnect
		return false
	case stalled(cl): // not reading: replayed once a write to it returns (stall.go)
		cs.stallSkipped = true
		return false
	case d.seq != cs.last+1:
		h.startReplayLocked(s, d.conv, cs, d.seq)
		return false
	case cl.State.Inflight.Len() >= maxInflight: // mochi would drop it: the next message replays
		return false
	case !h.numberable(cl, d): // stalled now
		cs.stallSkipped = true
		return false
	}
	cs.last = d.seq
	h.handedLocked(cl, s, cs, d)
	return true
}

// numberable reports whether delivery d to cl can go without waiting on a
// stalled write (stall.go): a QoS 0 delivery takes no lock of the client's.
func (h *hook) numberable(cl *mochi.Client, d *delivery) bool {
	if sub, ok := cl.State.Subscriptions.Get(d.topic); ok && sub.Qos == 0 {
		return true
	}
	return lockFree(cl)
}

// handedLocked notes that message d goes to cl: at QoS 0 (nothing will be
// acknowledged) it is the session's saved position at once. mu is held.
func (h *hook) handedLocked(cl *mochi.Client, s *session, cs *convSub, d *delivery) {
	if s.expiry == 0 {
		return
	}
	if sub, ok := cl.State.Subscriptions.Get(d.topic); ok && sub.Qos == 0 && d.seq > cs.acked {
		cs.acked, s.dirty = d.seq, true
	}
}

// acknowledged notes that the client acknowledged (PUBACK, or PUBREC at QoS
// 2) the server's publish packetID: if it carried a message, that message
// is the session's saved position. Called as the acknowledgement is read,
// while mochi still holds the publish in flight.
func (h *hook) acknowledged(cl *mochi.Client, packetID uint16) {
	s := h.session(cl.ID)
	if s == nil {
		return
	}
	pub, ok := cl.State.Inflight.Get(packetID)
	if !ok {
		return
	}
	kind, conv := parseTopic(pub.TopicName)
	seq := frameSeq(pub.Payload)
	if kind != topicMessages || seq == 0 {
		return
	}
	h.mu.Lock()
	if cs := s.convs[conv]; cs != nil && s.expiry > 0 && seq > cs.acked {
		cs.acked, s.dirty = seq, true
	}
	h.mu.Unlock()
}

// OnPublishDropped: the client's outbound queue was full. The message counts
// as not delivered, so the next one replays it.
func (h *hook) OnPublishDropped(cl *mochi.Client, pk packets.Packet) {
	d := h.cur.Load()
	if d == nil || d.seq == 0 || d.topic != pk.TopicName {
		return
	}
	if s := h.session(cl.ID); s != nil {
		if cs := s.convs[d.conv]; cs != nil && cs.last == d.seq {
			cs.last = d.seq - 1
		}
	}
}

// startReplayLocked replays conv's history after cs.last to session s, then
// hands back to live delivery. upTo is the newest seq known to exist (0:
// whatever the history holds). mu is held.
func (h *hook) startReplayLocked(s *session, conv string, cs *convSub, upTo int64) {
	cs.skipped = max(cs.skipped, upTo)
	if cs.replaying {
		return
	}
	cs.replaying = true
	h.wg.Add(1)
	go h.replay(s, conv, cs)
}

func (h *hook) replay(s *session, conv string, cs *convSub) {
	defer h.wg.Done()
	topic := messagesTopic(conv)
	for {
		h.mu.Lock()
		if s.convs[conv] != cs {
			h.mu.Unlock()
			return
		}
		after, actor := cs.last, *s.actor.Load()
		h.mu.Unlock()

		ctx, cancel := context.WithTimeout(h.ctx, opTimeout)
		msgs, err := h.rt.History(ctx, actor, conv, after, 0, replayPage)
		cancel()

		h.mu.Lock()
		if s.convs[conv] != cs {
			h.mu.Unlock()
			return
		}
		if err != nil {
			cs.replaying = false
			switch parley.ErrorCode(err) {
			case parley.CodeNotFound, parley.CodeForbidden, parley.CodeUnauthenticated:
				delete(s.convs, conv)
			default:
				h.log.Warn("mqtt replay", "client", s.id, "conversation_id", conv, "err", err)
			}
			h.mu.Unlock()
			return
		}
		cl, ok := h.broker.Clients.Get(s.id)
		if !ok || cl.Closed() || len(msgs) == 0 {
			cs.replaying = false // the next connection replays
			h.mu.Unlock()
			return
		}
		for _, m := range msgs {
			if m.Seq <= cs.last {
				continue
			}
			h.publishLocked(delivery{topic: topic, conv: conv, seq: m.Seq, target: s.id}, messageFrame(m), false)
			if cs.last != m.Seq { // not taken (queue full, disconnected): retried later
				cs.replaying = false
				h.mu.Unlock()
				return
			}
		}
		if len(msgs) < replayPage && cs.skipped <= cs.last {
			cs.replaying = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

// presenceFrame is the WebSocket `presence` event frame of st.
func presenceFrame(st parley.PresenceStatus) []byte {
	b, _ := json.Marshal(struct {
		Type parley.EventKind `json:"type"`
		parley.PresenceStatus
	}{parley.EventPresence, st})
	return b
}
