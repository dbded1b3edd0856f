package nats

import (
	"encoding/binary"
	"errors"

	"github.com/parley-chat/parley"
)

// Wire format of one event (one NATS message payload), version 1:
//
//	byte     version (1)
//	string   Kind
//	string   ConversationID
//	list     UserIDs, SessionIDs, Join, Leave
//	bytes    Frame: the rest of the payload, unchanged
//
// where string is a uvarint length followed by that many bytes and list is
// a uvarint count followed by that many strings. The Frame is not re-encoded
// (it is already the JSON WebSocket frame), so gateways on every node write
// the publisher's bytes as they are.
const wireVersion = 1

// maxListLen bounds the number of entries in one list of a decoded event.
const maxListLen = 1 << 20

var errBadEvent = errors.New("nats bus: malformed event")

// appendEvent appends the encoding of e to b.
func appendEvent(b []byte, e parley.Event) []byte {
	b = append(b, wireVersion)
	b = appendString(b, string(e.Kind))
	b = appendString(b, e.ConversationID)
	for _, l := range [...][]string{e.UserIDs, e.SessionIDs, e.Join, e.Leave} {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, s := range l {
			b = appendString(b, s)
		}
	}
	return append(b, e.Frame...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEvent decodes one payload. The returned Frame aliases p.
func decodeEvent(p []byte) (parley.Event, error) {
	var e parley.Event
	if len(p) == 0 || p[0] != wireVersion {
		return e, errBadEvent
	}
	d := decoder{p: p[1:]}
	e.Kind = parley.EventKind(d.string())
	e.ConversationID = d.string()
	e.UserIDs = d.list()
	e.SessionIDs = d.list()
	e.Join = d.list()
	e.Leave = d.list()
	if d.err != nil {
		return parley.Event{}, d.err
	}
	if len(d.p) > 0 {
		e.Frame = d.p
	}
	return e, nil
}

type decoder struct {
	p   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.err = errBadEvent
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.p)) {
		d.err = errBadEvent
		return ""
	}
	s := string(d.p[:n])
	d.p = d.p[n:]
	return s
}

func (d *decoder) list() []string {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	// Each entry takes at least one byte, which bounds n by what is left.
	if n > maxListLen || n > uint64(len(d.p)) {
		d.err = errBadEvent
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.string()
	}
	if d.err != nil {
		return nil
	}
	return l
}
