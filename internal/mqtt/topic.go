package mqtt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
)

// The topic tree (docs/mqtt.md). Every topic names one conversation or user
// by its id; a filter with a wildcard (+ or #) parses as nothing, so it is
// refused rather than matched against other people's conversations.
const (
	topicPrefix   = "parley/"
	convPrefix    = "parley/c/"
	userPrefix    = "parley/u/"
	sendSuffix    = "/send"
	messageSuffix = "/m"
	presenceSufx  = "/presence"
)

type topicKind int

const (
	topicNone     topicKind = iota
	topicSend               // parley/c/<conversation-id>/send: publish only
	topicMessages           // parley/c/<conversation-id>/m: subscribe only
	topicPresence           // parley/u/<user-id>/presence: subscribe only
)

// parseTopic returns the kind of a topic name or filter and the id it names;
// topicNone for anything outside the tree, wildcards included.
func parseTopic(t string) (topicKind, string) {
	var rest string
	switch {
	case strings.HasPrefix(t, convPrefix):
		rest = t[len(convPrefix):]
		if id, ok := strings.CutSuffix(rest, sendSuffix); ok && parley.ValidID(id) {
			return topicSend, id
		}
		if id, ok := strings.CutSuffix(rest, messageSuffix); ok && parley.ValidID(id) {
			return topicMessages, id
		}
	case strings.HasPrefix(t, userPrefix):
		rest = t[len(userPrefix):]
		if id, ok := strings.CutSuffix(rest, presenceSufx); ok && parley.ValidID(id) {
			return topicPresence, id
		}
	}
	return topicNone, ""
}

func messagesTopic(convID string) string { return convPrefix + convID + messageSuffix }
func presenceTopic(userID string) string { return userPrefix + userID + presenceSufx }

// sendInput is one publish to parley/c/<id>/send.
type sendInput struct {
	ClientMsgID string
	Body        string
	ReplyTo     int64
	// Generated is true when neither the payload nor the correlation data
	// named a client_msg_id: the send is then not idempotent.
	Generated bool
}

// sendPayload is the JSON form of a send payload.
type sendPayload struct {
	Body        *string `json:"body"`
	ClientMsgID string  `json:"client_msg_id"`
	ReplyTo     int64   `json:"reply_to"`
}

// parseSend reads a send payload: a JSON object {"body","client_msg_id",
// "reply_to"} when it starts with '{', else the whole payload is the body.
// The client_msg_id is the payload's field, else the MQTT 5 correlation data,
// else a random one. Errors are invalid (payload, client_msg_id); the body
// itself is checked by the app.
func parseSend(payload, correlation []byte) (sendInput, error) {
	var in sendInput
	if len(payload) > 0 && payload[0] == '{' {
		var p sendPayload
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return in, parley.Invalid("payload", "a payload starting with '{' must be a JSON object {\"body\",\"client_msg_id\",\"reply_to\"}: %v", err)
		}
		if dec.More() {
			return in, parley.Invalid("payload", "the payload must hold one JSON object")
		}
		if p.Body == nil {
			return in, parley.Invalid("body", "body is required")
		}
		in.Body, in.ClientMsgID, in.ReplyTo = *p.Body, p.ClientMsgID, p.ReplyTo
	} else {
		in.Body = string(payload)
	}
	if in.ClientMsgID == "" && len(correlation) > 0 {
		in.ClientMsgID = string(correlation)
	}
	if in.ClientMsgID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		in.ClientMsgID, in.Generated = "mqtt-"+hex.EncodeToString(b[:]), true
	}
	return in, nil
}

// frameSeq returns the seq of the message a `message` event frame carries
// ({"type":"message","message":{"id",…,"seq":N,…}}: the first "seq" key is
// the message's, as ids hold no quotes), or 0.
func frameSeq(frame []byte) int64 {
	i := bytes.Index(frame, []byte(`"seq":`))
	if i < 0 {
		return 0
	}
	rest := frame[i+6:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// messageFrame is the `message` event frame of m, byte for byte what the
// WebSocket gateway sends (app.publishMessage).
func messageFrame(m parley.Message) []byte {
	if m.E2EE != nil {
		m.Body = parley.EncryptedPlaceholder
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("mqtt: encode message: " + err.Error())
	}
	f := make([]byte, 0, len(b)+32)
	f = append(f, `{"type":"message","message":`...)
	return append(append(f, b...), '}')
}

// encryptedPlaceholder returns frame, a message event, with the body of an
// end-to-end encrypted message set to parley.EncryptedPlaceholder (the
// envelope stays, for a client that can decrypt it). Other frames are
// returned unchanged: the raw key `"e2ee":` cannot occur inside a JSON
// string, so frames without it need no decoding.
func encryptedPlaceholder(frame []byte) []byte {
	if !bytes.Contains(frame, []byte(`"e2ee":`)) {
		return frame
	}
	var f struct {
		Type    parley.EventKind `json:"type"`
		Message parley.Message   `json:"message"`
	}
	if json.Unmarshal(frame, &f) != nil || f.Message.E2EE == nil {
		return frame
	}
	f.Message.Body = parley.EncryptedPlaceholder
	b, err := json.Marshal(f)
	if err != nil {
		return frame
	}
	return b
}
