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

// decodeFast decodes p into f and reports true, or reports false (f is then
// garbage) when p is not of the plain form described above.
func decodeFast(p []byte, f *ClientFrame) bool {
	i := skipWS(p, 0)
	if i >= len(p) || p[i] != '{' {
		return false
	}
	i = skipWS(p, i+1)
	if i < len(p) && p[i] == '}' {
		return skipWS(p, i+1) == len(p)
	}
	var seen uint16
	var limit int64 // f.Limit is an int: read into this, checked at the end
	for {
		key, j, ok := plainString(p, i)
		if !ok {
			return false
		}
		str, num, bit := fastTarget(f, key, &limit)
		if key == "since" {
			bit = bitSince
		}
		if bit == 0 || seen&bit != 0 {
			return false // unknown (or differently cased) or duplicate key
		}
		seen |= bit
		j = skipWS(p, j)
		if j >= len(p) || p[j] != ':' {
			return false
		}
		j = skipWS(p, j+1)
		switch {
		case bit == bitSince:
			f.Since, j, ok = plainPositions(p, j)
		case str != nil:
			*str, j, ok = plainString(p, j)
		default:
			*num, j, ok = plainInt(p, j)
		}
		if !ok {
			return false
		}
		j = skipWS(p, j)
		if j >= len(p) {
			return false
		}
		switch p[j] {
		case ',':
			i = skipWS(p, j+1)
		case '}':
			if seen&bitLimit != 0 {
				if int64(int(limit)) != limit {
					return false
				}
				f.Limit = int(limit)
			}
			return skipWS(p, j+1) == len(p)
		default:
			return false
		}
	}
}

const (
	bitLimit = 1 << 8
	bitSince = 1 << 9
)

// plainPositions reads the auth frame's since at i: an object of plain
// string keys and plainInt values, each key once (encoding/json would let
// the last of a repeated key win: the strict path decides those).
func plainPositions(p []byte, i int) (map[string]int64, int, bool) {
	if i >= len(p) || p[i] != '{' {
		return nil, 0, false // null, or not an object: the strict path
	}
	m := map[string]int64{}
	i = skipWS(p, i+1)
	if i < len(p) && p[i] == '}' {
		return m, i + 1, true
	}
	for {
		k, j, ok := plainString(p, i)
		if !ok {
			return nil, 0, false
		}
		if _, dup := m[k]; dup {
			return nil, 0, false
		}
		j = skipWS(p, j)
		if j >= len(p) || p[j] != ':' {
			return nil, 0, false
		}
		v, j, ok := plainInt(p, skipWS(p, j+1))
		if !ok {
			return nil, 0, false
		}
		m[k] = v
		j = skipWS(p, j)
		if j >= len(p) {
			return nil, 0, false
		}
		switch p[j] {
		case ',':
			i = skipWS(p, j+1)
		case '}':
			return m, j + 1, true
		default:
			return nil, 0, false
		}
	}
}

// fastTarget returns where key's value goes: a string field of f or an
// integer (limit, which is an int, goes through *limit), and key's bit in
// the seen set; bit 0 for a key the fast path does not take.
func fastTarget(f *ClientFrame, key string, limit *int64) (str *string, num *int64, bit uint16) {
	switch key {
	case "type":
		return &f.Type, nil, 1 << 0
	case "ref":
		return &f.Ref, nil, 1 << 1
	case "token":
		return &f.Token, nil, 1 << 2
	case "conversation_id":
		return &f.ConversationID, nil, 1 << 3
	case "client_msg_id":
		return &f.ClientMsgID, nil, 1 << 4
	case "body":
		return &f.Body, nil, 1 << 5
	case "reply_to":
		return nil, &f.ReplyTo, 1 << 6
	case "seq":
		return nil, &f.Seq, 1 << 7
	case "limit":
		return nil, limit, bitLimit
	}
	return nil, nil, 0
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
