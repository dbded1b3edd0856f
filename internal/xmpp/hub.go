package xmpp

import (
	"encoding/json"
	"sync"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// hub routes events to this node's XMPP sessions: by topic (conversation id
// or presence topic) and by user. Its lock is held only to copy recipient
// sets, never while writing.
type hub struct {
	mu     sync.RWMutex
	users  map[string]map[*conn]struct{}
	topics map[string]map[*conn]struct{}
}

func newHub() *hub {
	return &hub{users: map[string]map[*conn]struct{}{}, topics: map[string]map[*conn]struct{}{}}
}

func add(m map[string]map[*conn]struct{}, k string, c *conn) {
	set := m[k]
	if set == nil {
		set = map[*conn]struct{}{}
		m[k] = set
	}
	set[c] = struct{}{}
}

func remove(m map[string]map[*conn]struct{}, k string, c *conn) {
	if set := m[k]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// register adds c as a session of its user.
func (h *hub) register(c *conn) {
	h.mu.Lock()
	add(h.users, c.actor.UserID, c)
	h.mu.Unlock()
}

// subscribe adds c to topics.
func (h *hub) subscribe(c *conn, topics ...string) {
	h.mu.Lock()
	for _, t := range topics {
		if _, ok := c.topics[t]; !ok {
			c.topics[t] = struct{}{}
			add(h.topics, t, c)
		}
	}
	h.mu.Unlock()
}

// unregister removes c everywhere.
func (h *hub) unregister(c *conn) {
	h.mu.Lock()
	remove(h.users, c.actor.UserID, c)
	for t := range c.topics {
		remove(h.topics, t, c)
	}
	c.topics = map[string]struct{}{}
	h.mu.Unlock()
}

// event is a bus event decoded once for every XMPP recipient.
type event struct {
	parley.Event
	Message  *parley.Message        `json:"message"`
	Receipt  *parley.Receipt        `json:"-"`
	Presence *parley.PresenceStatus `json:"-"`
	Typing   *typingFrame           `json:"-"`
	Member   *parley.Member         `json:"-"`
	Blocks   *blocksFrame           `json:"-"`
}

type typingFrame struct {
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	Typing         bool   `json:"typing"`
}

func decode(e parley.Event) (*event, bool) {
	ev := &event{Event: e}
	var err error
	switch e.Kind {
	case parley.EventMessage, parley.EventMessageEdited, parley.EventMessageDeleted:
		var f struct {
			Message parley.Message `json:"message"`
		}
		err = json.Unmarshal(e.Frame, &f)
		ev.Message = &f.Message
	case parley.EventReceipt:
		ev.Receipt = new(parley.Receipt)
		err = json.Unmarshal(e.Frame, ev.Receipt)
	case parley.EventPresence:
		ev.Presence = new(parley.PresenceStatus)
		err = json.Unmarshal(e.Frame, ev.Presence)
	case parley.EventTyping:
		ev.Typing = new(typingFrame)
		err = json.Unmarshal(e.Frame, ev.Typing)
	case parley.EventMemberJoined, parley.EventMemberLeft, parley.EventMemberUpdated:
		var f struct {
			Member parley.Member `json:"member"`
		}
		err = json.Unmarshal(e.Frame, &f)
		ev.Member = &f.Member
	case app.EventBlocks:
		ev.Blocks, err = decodeBlocks(e)
	case parley.EventSessionRevoked:
	default:
		return nil, false
	}
	return ev, err == nil
}

// HandleEvent routes a bus event to the local XMPP sessions it concerns. It
// never blocks on a connection: a session whose queue is full is ended.
func (s *Server) HandleEvent(e parley.Event) {
	h := s.hub
	if len(e.Join) > 0 && e.ConversationID != "" {
		h.mu.Lock()
		for _, uid := range e.Join {
			for c := range h.users[uid] {
				if _, ok := c.topics[e.ConversationID]; !ok {
					c.topics[e.ConversationID] = struct{}{}
					add(h.topics, e.ConversationID, c)
				}
			}
		}
		h.mu.Unlock()
	}
	var rcpt []*conn
	h.mu.RLock()
	if e.ConversationID != "" {
		for c := range h.topics[e.ConversationID] {
			rcpt = append(rcpt, c)
		}
	}
	for _, uid := range e.UserIDs {
		for c := range h.users[uid] {
			rcpt = append(rcpt, c)
		}
	}
	if e.Kind == parley.EventSessionRevoked {
		for _, set := range h.users {
			for c := range set {
				for _, sid := range e.SessionIDs {
					if c.actor.SessionID == sid {
						rcpt = append(rcpt, c)
					}
				}
			}
		}
	}
	h.mu.RUnlock()
	if len(rcpt) > 0 {
		if ev, ok := decode(e); ok {
			for _, c := range rcpt {
				c.deliver(ev)
			}
		}
	}
	if len(e.Leave) > 0 && e.ConversationID != "" {
		h.mu.Lock()
		for _, uid := range e.Leave {
			for c := range h.users[uid] {
				delete(c.topics, e.ConversationID)
				remove(h.topics, e.ConversationID, c)
			}
		}
		h.mu.Unlock()
	}
}
