package app

import (
	"context"
	"encoding/json"

	"github.com/parley-chat/parley"
)

// The WebSocket frames of conversation and message events. Each is encoded
// once, here, into Event.Frame; docs/protocol-events.md shows examples.
//
// Publication order: every frame below is published from a store commit
// hook, which runs in commit order; so within a conversation, events reach
// the bus in seq order, and a write's events are published before its
// caller gets the ack.

// reactionFrame is {"type":"reaction","conversation_id","seq","user_id","emoji","added","reactions":[…]}.
type reactionFrame struct {
	Type           parley.EventKind  `json:"type"`
	ConversationID string            `json:"conversation_id"`
	Seq            int64             `json:"seq"`
	UserID         string            `json:"user_id"`
	Emoji          string            `json:"emoji"`
	Added          bool              `json:"added"`
	Reactions      []parley.Reaction `json:"reactions"`
}

// memberFrame is {"type":"member_joined"|"member_left"|"member_updated",
// "conversation_id","user_id","member":{…},"conversation":{…}}.
type memberFrame struct {
	Type           parley.EventKind     `json:"type"`
	ConversationID string               `json:"conversation_id"`
	UserID         string               `json:"user_id"`
	Member         parley.Member        `json:"member"`
	Conversation   *parley.Conversation `json:"conversation,omitempty"`
}

// conversationFrame is {"type":"conversation_updated","conversation":{…}}.
type conversationFrame struct {
	Type         parley.EventKind    `json:"type"`
	Conversation parley.Conversation `json:"conversation"`
}

func frame(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("app: encode frame: " + err.Error()) // only plain structs are encoded
	}
	return b
}

// publishHook publishes from a commit hook: the request may be gone by now,
// and the write is durable, so the request's cancellation does not apply.
func (a *App) publishHook(e parley.Event) { a.publish(context.Background(), e) }

// publishMessage publishes the message event
// {"type":"message"|"message_edited"|"message_deleted","message":{…}} and
// returns m's JSON encoding, which the frame embeds unchanged (kinds are
// plain ASCII constants: nothing in them needs escaping).
func (a *App) publishMessage(kind parley.EventKind, m parley.Message) []byte {
	msg := frame(m)
	f := make([]byte, 0, len(msg)+len(kind)+24)
	f = append(append(append(f, `{"type":"`...), kind...), `","message":`...)
	f = append(append(f, msg...), '}')
	a.publishHook(parley.Event{Kind: kind, ConversationID: m.ConversationID, Frame: f})
	return msg
}

func (a *App) publishReaction(convID string, seq int64, userID, emoji string, added bool, rs []parley.Reaction) {
	if rs == nil {
		rs = []parley.Reaction{}
	}
	a.publishHook(parley.Event{Kind: parley.EventReaction, ConversationID: convID,
		Frame: frame(reactionFrame{Type: parley.EventReaction, ConversationID: convID, Seq: seq, UserID: userID,
			Emoji: emoji, Added: added, Reactions: rs})})
}

// publishJoined announces members joining: the joining user is subscribed
// to the conversation first (Event.Join), so they get this event and
// everything after it. The frame carries the conversation so clients can
// show it at once.
func (a *App) publishJoined(c parley.Conversation, m parley.Member) {
	a.publishHook(parley.Event{Kind: parley.EventMemberJoined, ConversationID: c.ID, Join: []string{m.UserID},
		Frame: frame(memberFrame{Type: parley.EventMemberJoined, ConversationID: c.ID, UserID: m.UserID, Member: m,
			Conversation: &c})})
}

// publishLeft announces a member leaving or being removed; they get this
// event last and are then unsubscribed (Event.Leave).
func (a *App) publishLeft(c parley.Conversation, m parley.Member) {
	a.publishHook(parley.Event{Kind: parley.EventMemberLeft, ConversationID: c.ID, Leave: []string{m.UserID},
		Frame: frame(memberFrame{Type: parley.EventMemberLeft, ConversationID: c.ID, UserID: m.UserID, Member: m})})
}

// publishMemberUpdated announces a role change to the conversation, or (private
// = true: mute/pin/archive) a settings change to the member's own devices only.
func (a *App) publishMemberUpdated(c parley.Conversation, m parley.Member, private bool) {
	e := parley.Event{Kind: parley.EventMemberUpdated,
		Frame: frame(memberFrame{Type: parley.EventMemberUpdated, ConversationID: c.ID, UserID: m.UserID, Member: m})}
	if private {
		e.UserIDs = []string{m.UserID}
	} else {
		e.ConversationID = c.ID
	}
	a.publishHook(e)
}

func (a *App) publishConversation(c parley.Conversation) {
	a.publishHook(parley.Event{Kind: parley.EventConversationUpdated, ConversationID: c.ID,
		Frame: frame(conversationFrame{Type: parley.EventConversationUpdated, Conversation: c})})
}
