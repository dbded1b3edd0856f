package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Client frame types (the "type" of a client frame). docs/protocol.md
// documents each with its fields and answer.
const (
	OpAuth                = "auth"                 // first frame: {"token"} → ready
	OpSend                = "send"                 // {"conversation_id","client_msg_id","body","reply_to","attachment_ids"} → ack
	OpTyping              = "typing"               // {"conversation_id","typing"} → ok
	OpRead                = "read"                 // {"conversation_id","seq"} → ok with receipt
	OpDelivered           = "delivered"            // {"conversation_id","seq"} → ok with receipt
	OpPresenceSubscribe   = "presence_subscribe"   // {"user_ids"} → presence_state
	OpPresenceUnsubscribe = "presence_unsubscribe" // {"user_ids"} → ok
	OpSync                = "sync"                 // {} → sync (conversation states)
	OpPing                = "ping"                 // {} → pong
	OpHistory             = "history"              // {"conversation_id","after"|"before","limit"} → history
	OpCallRing            = "call_ring"            // {"conversation_id","video"} → call
	OpCallAccept          = "call_accept"          // {"call_id"} → call
	OpCallDecline         = "call_decline"         // {"call_id"} → call
	OpCallBusy            = "call_busy"            // {"call_id"} → call
	OpCallCancel          = "call_cancel"          // {"call_id"} → call
	OpCallHangup          = "call_hangup"          // {"call_id"} → call
	OpCallSDP             = "call_sdp"             // {"call_id","sdp_type","sdp"} → ok
	OpCallICE             = "call_ice"             // {"call_id","candidate"} → ok
	OpFocus               = "focus"                // {"focused"} → ok: this device is (not) in front of its user
)

// callActions maps the call frames that change a call's state to their action.
var callActions = map[string]parley.CallAction{
	OpCallAccept: parley.CallAccept, OpCallDecline: parley.CallDecline, OpCallBusy: parley.CallRefuse,
	OpCallCancel: parley.CallCancel, OpCallHangup: parley.CallHangup,
}

// MaxRefLen bounds the "ref" a client may attach to a frame.
const MaxRefLen = 64

// MaxPresenceUsers bounds the user ids of one presence frame and the users
// one connection may watch.
const MaxPresenceUsers = 500

// MaxSince bounds the conversations an auth frame's since may name, and
// ReadyMessages the messages a ready frame carries from them in all; each
// conversation contributes at most ReadyMessagesPerConversation (the
// client pages on with history frames for the rest; docs/protocol.md).
const (
	MaxSince                     = 2000
	ReadyMessages                = 1000
	ReadyMessagesPerConversation = 100
)

// ClientFrame is every field a client frame may carry; Type says which
// apply. Fields that do not apply to a type are ignored; fields that no type
// has are refused.
type ClientFrame struct {
	Type           string   `json:"type"`
	Ref            string   `json:"ref,omitempty"`
	Token          string   `json:"token,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	ClientMsgID    string   `json:"client_msg_id,omitempty"`
	Body           string   `json:"body,omitempty"`
	ReplyTo        int64    `json:"reply_to,omitempty"`
	AttachmentIDs  []string `json:"attachment_ids,omitempty"`
	// E2EE is the envelope of a send into an encrypted conversation (docs/e2ee.md).
	E2EE    json.RawMessage `json:"e2ee,omitempty"`
	Seq     int64           `json:"seq,omitempty"`
	UserIDs []string        `json:"user_ids,omitempty"`
	Typing  *bool           `json:"typing,omitempty"`
	Focused *bool           `json:"focused,omitempty"`
	After   *int64          `json:"after,omitempty"`  // history; nil: not given
	Before  *int64          `json:"before,omitempty"` // history; nil: not given
	Limit   int             `json:"limit,omitempty"`
	// Since is the auth frame's resync position: conversation id → the
	// seq up to which the client holds every message.
	Since map[string]int64 `json:"since,omitempty"`
	// Calls (docs/calls.md).
	CallID    string               `json:"call_id,omitempty"`
	Video     bool                 `json:"video,omitempty"`
	SDPType   string               `json:"sdp_type,omitempty"`
	SDP       string               `json:"sdp,omitempty"`
	Candidate *parley.ICECandidate `json:"candidate,omitempty"`
}

// DecodeClientFrame strictly decodes one client text frame: exactly one JSON
// object, no unknown fields, every field of the right type, a known type and
// a ref of at most MaxRefLen bytes. Errors are CodeInvalid naming the field.
// On error the returned frame still carries the Ref if it could be read, so
// the error frame can echo it.
func DecodeClientFrame(p []byte) (ClientFrame, error) {
	var f ClientFrame
	if !decodeFast(p, &f) {
		var err error
		if f, err = decodeStrict(p); err != nil {
			return f, err
		}
	}
	if len(f.Ref) > MaxRefLen {
		f.Ref = ""
		return f, parley.TooLarge("ref", "ref must be at most %d bytes", MaxRefLen)
	}
	switch f.Type {
	case OpAuth, OpSend, OpTyping, OpRead, OpDelivered, OpPresenceSubscribe, OpPresenceUnsubscribe, OpSync, OpPing, OpHistory,
		OpCallRing, OpCallAccept, OpCallDecline, OpCallBusy, OpCallCancel, OpCallHangup, OpCallSDP, OpCallICE,
		OpFocus:
	case "":
		return f, parley.Invalid("type", "frame has no type")
	default:
		return f, parley.Invalid("type", "unknown frame type %q", f.Type)
	}
	if len(f.UserIDs) > MaxPresenceUsers {
		return f, parley.TooLarge("user_ids", "at most %d user ids per frame", MaxPresenceUsers)
	}
	if len(f.Since) > MaxSince {
		return f, parley.TooLarge("since", "since may name at most %d conversations", MaxSince)
	}
	for _, seq := range f.Since {
		if seq < 0 {
			return f, parley.Invalid("since", "since holds seqs, which are not negative")
		}
	}
	return f, nil
}

// decodeStrict decodes p with encoding/json: exactly one object, no unknown
// fields. It is the reference decodeFast must agree with.
func decodeStrict(p []byte) (ClientFrame, error) {
	var f ClientFrame
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		f.Ref = refOf(p)
		return f, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		f.Ref = refOf(p)
		return f, parley.Invalid("", "a frame must hold exactly one JSON object")
	}
	return f, nil
}

// refOf salvages the ref of a frame that failed strict decoding.
func refOf(p []byte) string {
	var r struct {
		Ref string `json:"ref"`
	}
	if json.Unmarshal(p, &r) != nil || len(r.Ref) > MaxRefLen {
		return ""
	}
	return r.Ref
}

func jsonError(err error) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		if ute.Field == "" {
			return parley.Invalid("", "a frame must be a JSON object")
		}
		return parley.Invalid(ute.Field, "field %q has the wrong type (%s)", ute.Field, ute.Value)
	case errors.As(err, &se):
		return parley.Invalid("", "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return parley.Invalid("", "frame ends in the middle of a JSON value")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return parley.Invalid(field, "unknown field %q", field)
	}
	return parley.Invalid("", "malformed frame: %v", err)
}

// Limits are announced in the ready frame so clients can stay within them.
type Limits struct {
	MaxFrameBytes   int     `json:"max_frame_bytes"`
	MaxMessageChars int     `json:"max_message_chars"`
	PingIntervalMS  int64   `json:"ping_interval_ms"`
	TypingTTLMS     int64   `json:"typing_ttl_ms"`
	QueueFrames     int     `json:"queue_frames"`
	OpsPerSecond    float64 `json:"ops_per_second"`
	OpsBurst        int     `json:"ops_burst"`
}

// Server frames answering client frames. Events are written as published.
type readyFrame struct {
	readyHead
	Conversations []parley.ConversationState `json:"conversations"`
	// Messages are the messages after the auth frame's since, oldest
	// first per conversation, none beyond its last_seq here.
	Messages json.RawMessage `json:"messages,omitempty"`
}

// readyHead is the part of the ready frame encodeReady leaves to
// encoding/json.
type readyHead struct {
	Type       string      `json:"type"`
	Ref        string      `json:"ref,omitempty"`
	User       parley.User `json:"user"`
	SessionID  string      `json:"session_id"`
	ConnID     string      `json:"conn_id"`
	ServerTime time.Time   `json:"server_time"`
	Limits     Limits      `json:"limits"`
}

type ackFrame struct {
	Type    string         `json:"type"`
	Ref     string         `json:"ref,omitempty"`
	Created bool           `json:"created"`
	Message parley.Message `json:"message"`
}

type okFrame struct {
	Type    string          `json:"type"`
	Ref     string          `json:"ref,omitempty"`
	Receipt *parley.Receipt `json:"receipt,omitempty"`
}

// callAnswer answers the call frames that change a call: the call after
// the change (the same shape as the call event, plus ref).
type callAnswer struct {
	Type string      `json:"type"`
	Ref  string      `json:"ref,omitempty"`
	Call parley.Call `json:"call"`
}

type pongFrame struct {
	Type       string    `json:"type"`
	Ref        string    `json:"ref,omitempty"`
	ServerTime time.Time `json:"server_time"`
}

type presenceStateFrame struct {
	Type  string                  `json:"type"`
	Ref   string                  `json:"ref,omitempty"`
	Users []parley.PresenceStatus `json:"users"`
}

type syncFrame struct {
	Type          string                     `json:"type"`
	Ref           string                     `json:"ref,omitempty"`
	Conversations []parley.ConversationState `json:"conversations"`
}

type historyFrame struct {
	Type           string           `json:"type"`
	Ref            string           `json:"ref,omitempty"`
	ConversationID string           `json:"conversation_id"`
	Messages       []parley.Message `json:"messages"`
}

// ErrorFrame is {"type":"error","ref":…,"error":{code,message,field,retry_after}}:
// its "error" is the REST error body's (parley.ErrorDetail).
type ErrorFrame struct {
	Type  string             `json:"type"`
	Ref   string             `json:"ref,omitempty"`
	Error parley.ErrorDetail `json:"error"`
}

// encodeHistory is encode(f) (the same bytes) with the messages written by
// parley.AppendMessagesJSON instead of reflection.
func encodeHistory(f historyFrame) []byte {
	head := encode(struct {
		Type           string `json:"type"`
		Ref            string `json:"ref,omitempty"`
		ConversationID string `json:"conversation_id"`
	}{f.Type, f.Ref, f.ConversationID})
	b := make([]byte, 0, len(head)+len(`,"messages":}`)+300*len(f.Messages))
	b = append(append(b, head[:len(head)-1]...), `,"messages":`...)
	b, err := parley.AppendMessagesJSON(b, f.Messages)
	if err != nil {
		panic("gateway: encode frame: " + err.Error())
	}
	return append(b, '}')
}

// encodeReady is encode(f) with the conversations and messages written
// without reflection: a reconnect storm writes one ready frame per client,
// and encoding/json re-scans a RawMessage byte by byte. The head (user,
// limits) still goes through encode.
func encodeReady(f readyFrame) []byte {
	head := encode(f.readyHead)
	b := make([]byte, 0, len(head)+len(`,"conversations":[],"messages":}`)+100*len(f.Conversations)+len(f.Messages))
	b = append(append(b, head[:len(head)-1]...), `,"conversations":`...)
	if f.Conversations == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range f.Conversations {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"conversation_id":`...)
			b = parley.AppendJSONString(b, s.ConversationID)
			b = append(b, `,"last_seq":`...)
			b = strconv.AppendInt(b, s.LastSeq, 10)
			b = append(b, `,"delivered_seq":`...)
			b = strconv.AppendInt(b, s.DeliveredSeq, 10)
			b = append(b, `,"read_seq":`...)
			b = strconv.AppendInt(b, s.ReadSeq, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(f.Messages) > 0 {
		b = append(append(b, `,"messages":`...), f.Messages...)
	}
	return append(b, '}')
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own frame types reach here; they always encode.
		panic("gateway: encode frame: " + err.Error())
	}
	return b
}

func errorFrame(ref string, err error) []byte {
	return encode(ErrorFrame{Type: "error", Ref: ref, Error: parley.AsError(err).Detail()})
}
