package parley

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendMessagesJSON appends ms as encoding/json marshals a []Message (the
// same bytes: field order, omitempty, HTML-safe string escapes, "null" for
// a nil slice), for the history pages, where reflection was a sixth of a
// page's cost. The rarely set parts (System, Attachments, E2EE) go through
// encoding/json, and so does a message it cannot encode (a time outside
// RFC 3339, an invalid E2EE envelope): err is then its error.
func AppendMessagesJSON(dst []byte, ms []Message) ([]byte, error) {
	if ms == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '[')
	for i := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendMessageJSON(dst, &ms[i]); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendMessageJSON(dst []byte, m *Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"id":`...)
	dst = AppendJSONString(dst, m.ID)
	dst = append(dst, `,"conversation_id":`...)
	dst = AppendJSONString(dst, m.ConversationID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, m.Seq, 10)
	dst = append(dst, `,"sender_id":`...)
	dst = AppendJSONString(dst, m.SenderID)
	if m.ClientMsgID != "" {
		dst = append(dst, `,"client_msg_id":`...)
		dst = AppendJSONString(dst, m.ClientMsgID)
	}
	dst = append(dst, `,"kind":`...)
	dst = AppendJSONString(dst, string(m.Kind))
	dst = append(dst, `,"body":`...)
	dst = AppendJSONString(dst, m.Body)
	if m.ReplyTo != 0 {
		dst = append(dst, `,"reply_to":`...)
		dst = strconv.AppendInt(dst, m.ReplyTo, 10)
	}
	if len(m.Mentions) > 0 {
		dst = append(dst, `,"mentions":`...)
		dst = appendJSONStrings(dst, m.Mentions)
	}
	if len(m.Reactions) > 0 {
		dst = append(dst, `,"reactions":[`...)
		for i, r := range m.Reactions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"emoji":`...)
			dst = AppendJSONString(dst, r.Emoji)
			dst = append(dst, `,"count":`...)
			dst = strconv.AppendInt(dst, int64(r.Count), 10)
			dst = append(dst, `,"user_ids":`...)
			dst = appendJSONStrings(dst, r.UserIDs)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	var err error
	if m.System != nil {
		if dst, err = appendMarshaled(dst, `,"system":`, m.System); err != nil {
			return fallbackJSON(dst[:start], m)
		}
	}
	var ok bool
	dst = append(dst, `,"created_at":`...)
	if dst, ok = appendJSONTime(dst, m.CreatedAt); !ok {
		return fallbackJSON(dst[:start], m)
	}
	if m.EditedAt != nil {
		dst = append(dst, `,"edited_at":`...)
		if dst, ok = appendJSONTime(dst, *m.EditedAt); !ok {
			return fallbackJSON(dst[:start], m)
		}
	}
	if m.Deleted {
		dst = append(dst, `,"deleted":true`...)
	}
	if len(m.Attachments) > 0 {
		if dst, err = appendMarshaled(dst, `,"attachments":`, m.Attachments); err != nil {
			return fallbackJSON(dst[:start], m)
		}
	}
	if len(m.E2EE) > 0 {
		if dst, err = appendMarshaled(dst, `,"e2ee":`, m.E2EE); err != nil {
			return fallbackJSON(dst[:start], m)
		}
	}
	return append(dst, '}'), nil
}

// fallbackJSON appends m as encoding/json does, or its error.
func fallbackJSON(dst []byte, m *Message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func appendMarshaled(dst []byte, key string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(append(dst, key...), b...), nil
}

// appendJSONTime appends t as time.Time.MarshalJSON does; ok is false for
// the times it refuses (a year outside [0,9999], a zone hour outside
// [0,23]).
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	dst = append(dst, '"')
	n0 := len(dst)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	if len(dst)-n0 < len("2006-01-02T15:04:05Z") || dst[n0+len("9999")] != '-' {
		return dst, false
	}
	if dst[len(dst)-1] != 'Z' {
		c := dst[len(dst)-len("Z07:00")]
		h := dst[len(dst)-len("07:00"):]
		if '0' <= c && c <= '9' || 10*(h[0]-'0')+(h[1]-'0') >= 24 {
			return dst, false
		}
	}
	return append(dst, '"'), true
}

func appendJSONStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string: encoding/json's string encoding with HTML escaping
// (its default): quotes, backslashes, control characters, '<', '>', '&',
// U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
