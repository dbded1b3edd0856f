package bench

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The WebSocket frames the generator speaks (docs/protocol.md is the
// reference). Incoming frames are scanned rather than fully decoded: at
// hundreds of thousands of deliveries per second a full JSON decode per frame
// would make the generator, not the server, the bottleneck. The scanner falls
// back to encoding/json whenever a frame does not look as expected.

// inFrame is what the generator needs from one server frame. Conv and Body
// alias the frame buffer: valid until the next read on the connection.
type inFrame struct {
	Type string // one of the constants below, or a copy for other types
	Seq  int64  // the embedded message's seq ("message" events and acks)
	Conv []byte // the embedded message's conversation_id
	Body []byte // the embedded message's body
	Raw  []byte // the whole frame, only for "history" answers
	// Only for "error" frames:
	Ref     string
	ErrCode string
}

type jsonFrame struct {
	Type    string `json:"type"`
	Ref     string `json:"ref"`
	Message *struct {
		ConversationID string `json:"conversation_id"`
		Seq            int64  `json:"seq"`
		Body           string `json:"body"`
	} `json:"message"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// parseFrame extracts the fields the generator uses from one frame without
// allocating on the hot path (message events and acks).
func parseFrame(b []byte) (inFrame, bool) {
	var f inFrame
	t, ok := scanBytes(b, `"type":"`)
	if !ok {
		return slowParse(b)
	}
	switch string(t) {
	case "message":
		f.Type = "message"
	case "ack":
		f.Type = "ack"
	case "error":
		return slowParse(b)
	case "ready":
		f.Type = "ready"
		return f, true
	case "history":
		f.Type, f.Raw = "history", b
		return f, true
	default:
		f.Type = string(t)
		return f, true
	}
	var ok1, ok2, ok3 bool
	f.Conv, ok1 = scanBytes(b, `"conversation_id":"`)
	f.Seq, ok2 = scanInt(b, `"seq":`)
	f.Body, ok3 = scanBytes(b, `"body":"`)
	if !ok1 || !ok2 || !ok3 || bytes.IndexByte(f.Body, '\\') >= 0 {
		return slowParse(b)
	}
	return f, true
}

func slowParse(b []byte) (inFrame, bool) {
	var j jsonFrame
	if err := json.Unmarshal(b, &j); err != nil {
		return inFrame{}, false
	}
	f := inFrame{Type: j.Type, Ref: j.Ref}
	if j.Message != nil {
		f.Conv = []byte(j.Message.ConversationID)
		f.Seq = j.Message.Seq
		f.Body = []byte(j.Message.Body)
	}
	if j.Error != nil {
		f.ErrCode = j.Error.Code
	}
	return f, true
}

// scanBytes returns the JSON string value following key (which includes the
// opening quote of the value), up to the next unescaped quote, still escaped.
func scanBytes(b []byte, key string) ([]byte, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return nil, false
	}
	v := b[i+len(key):]
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[:j], true
		}
	}
	return nil, false
}

func scanInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	v := b[i+len(key):]
	j := 0
	for j < len(v) && v[j] == ' ' {
		j++
	}
	var n int64
	k := j
	for k < len(v) && v[k] >= '0' && v[k] <= '9' && k-j < 18 {
		n = n*10 + int64(v[k]-'0')
		k++
	}
	return n, k > j
}

// authFrame is the first client frame; since (may be nil) is the client's
// position per conversation.
func authFrame(token string, since map[string]int64) []byte {
	f := struct {
		Type  string           `json:"type"`
		Token string           `json:"token"`
		Since map[string]int64 `json:"since,omitempty"`
	}{"auth", token, since}
	b, _ := json.Marshal(f)
	return b
}

// appendSendFrame appends a send operation for body to conversation conv.
// body and ids are generator-made ASCII without characters needing escapes.
func appendSendFrame(b []byte, ref, conv, clientMsgID string, body []byte) []byte {
	b = append(b, `{"type":"send","ref":"`...)
	b = append(b, ref...)
	b = append(b, `","conversation_id":"`...)
	b = append(b, conv...)
	b = append(b, `","client_msg_id":"`...)
	b = append(b, clientMsgID...)
	b = append(b, `","body":"`...)
	b = append(b, body...)
	b = append(b, `"}`...)
	return b
}

// Message bodies carry their own timing so receivers need no shared state:
//
//	pb1 <step> <n> <scheduled unix ns> <written unix ns> <padding>
const bodyMagic = "pb1 "

// padding makes a message ~100 bytes, a realistic chat line.
const padding = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod"

func appendBody(b []byte, step int, n, sched, written int64) []byte {
	b = append(b, bodyMagic...)
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, sched, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, written, 10)
	b = append(b, ' ')
	b = append(b, padding...)
	return b
}

// bodyStamp is the timing parsed out of a generator message body.
type bodyStamp struct {
	Step           int
	N              int64
	Sched, Written int64
}

func parseBody(s []byte) (bodyStamp, bool) {
	var st bodyStamp
	if len(s) < len(bodyMagic) || string(s[:len(bodyMagic)]) != bodyMagic {
		return st, false
	}
	s = s[len(bodyMagic):]
	var vals [4]int64
	for i := range vals {
		j := 0
		var v int64
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			v = v*10 + int64(s[j]-'0')
			j++
		}
		if j == 0 {
			return st, false
		}
		vals[i] = v
		s = s[j:]
		if len(s) > 0 && s[0] == ' ' {
			s = s[1:]
		}
	}
	st.Step, st.N, st.Sched, st.Written = int(vals[0]), vals[1], vals[2], vals[3]
	return st, true
}
