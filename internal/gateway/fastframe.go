package gateway

import "unicode/utf8"

// A fast path for the common client frames.
//
// Most frames a busy connection sends are flat objects of plain strings and
// integers: send, read, delivered, ping. decodeFast reads those without
// reflection or allocation beyond the strings themselves. It accepts only
// input that encoding/json, used as DecodeClientFrame's strict decoder,
// decodes to exactly the same ClientFrame without error; anything else
// (escapes, other value types, duplicate, unknown or differently cased keys,
// invalid UTF-8, numbers that are not plain int64s, trailing data) makes it
// give up, and the strict decoder decides. FuzzDecodeClientFrame checks that
// contract on every input it tries.

// fastField identifies a ClientFrame field decodeFast knows.
type fastField uint8

const (
	fType fastField = iota
	fRef
	fToken
	fConversationID
	fClientMsgID
	fBody
	fReplyTo
	fSeq
	fLimit
)

// decodeFast decodes p into f and reports true, or reports false (f is then
// garbage) when p is not of the plain form described above.
func decodeFast(p []byte, f *ClientFrame) bool {
	i := skipWS(p, 0)
	if i >= len(p) || p[i] != '{' {
		return false
	}
	i = skipWS(p, i+1)
	var seen uint16
	if i < len(p) && p[i] == '}' {
		return skipWS(p, i+1) == len(p)
	}
	for {
		key, j, ok := plainString(p, i)
		if !ok {
			return false
		}
		field, known := fieldOf(key)
		if !known || seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		j = skipWS(p, j)
		if j >= len(p) || p[j] != ':' {
			return false
		}
		j = skipWS(p, j+1)
		switch field {
		case fReplyTo, fSeq, fLimit:
			n, k, ok := plainInt(p, j)
			if !ok {
				return false
			}
			switch field {
			case fReplyTo:
				f.ReplyTo = n
			case fSeq:
				f.Seq = n
			default:
				if int64(int(n)) != n {
					return false
				}
				f.Limit = int(n)
			}
			j = k
		default:
			s, k, ok := plainString(p, j)
			if !ok {
				return false
			}
			switch field {
			case fType:
				f.Type = s
			case fRef:
				f.Ref = s
			case fToken:
				f.Token = s
			case fConversationID:
				f.ConversationID = s
			case fClientMsgID:
				f.ClientMsgID = s
			default:
				f.Body = s
			}
			j = k
		}
		j = skipWS(p, j)
		if j >= len(p) {
			return false
		}
		switch p[j] {
		case ',':
			i = skipWS(p, j+1)
		case '}':
			return skipWS(p, j+1) == len(p)
		default:
			return false
		}
	}
}

func fieldOf(key string) (fastField, bool) {
	switch key {
	case "type":
		return fType, true
	case "ref":
		return fRef, true
	case "token":
		return fToken, true
	case "conversation_id":
		return fConversationID, true
	case "client_msg_id":
		return fClientMsgID, true
	case "body":
		return fBody, true
	case "reply_to":
		return fReplyTo, true
	case "seq":
		return fSeq, true
	case "limit":
		return fLimit, true
	}
	return 0, false
}

// skipWS skips JSON whitespace from i.
func skipWS(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at i that has no escapes and no control
// characters and is valid UTF-8, returning it and the index after it.
func plainString(p []byte, i int) (string, int, bool) {
	if i >= len(p) || p[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(p); j++ {
		c := p[j]
		switch {
		case c == '"':
			b := p[i+1 : j]
			if !ascii && !utf8.Valid(b) {
				return "", 0, false // encoding/json would replace the bad bytes
			}
			return string(b), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", 0, false
}

// plainInt reads a JSON integer at i (optional minus, no leading zeros, no
// fraction or exponent) that fits an int64.
func plainInt(p []byte, i int) (int64, int, bool) {
	j := i
	neg := j < len(p) && p[j] == '-'
	if neg {
		j++
	}
	start := j
	var n uint64
	for j < len(p) && p[j] >= '0' && p[j] <= '9' {
		if j-start >= 18 { // 19 digits may overflow; let the strict decoder judge
			return 0, 0, false
		}
		n = n*10 + uint64(p[j]-'0')
		j++
	}
	if j == start || (p[start] == '0' && j-start > 1) {
		return 0, 0, false
	}
	if j < len(p) && (p[j] == '.' || p[j] == 'e' || p[j] == 'E') {
		return 0, 0, false
	}
	v := int64(n) // #nosec G115 -- at most 18 digits, below 2^63
	if neg {
		if n == 0 {
			return 0, 0, false // "-0": leave it to the strict decoder
		}
		v = -v
	}
	return v, j, true
}
