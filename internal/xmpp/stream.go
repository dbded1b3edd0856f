package xmpp

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces used by the gateway.
const (
	nsStream   = "http://etherx.jabber.org/streams"
	nsClient   = "jabber:client"
	nsStreams  = "urn:ietf:params:xml:ns:xmpp-streams"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsRoster   = "jabber:iq:roster"
	nsDiscoI   = "http://jabber.org/protocol/disco#info"
	nsDiscoIt  = "http://jabber.org/protocol/disco#items"
	nsPing     = "urn:xmpp:ping"
	nsVersion  = "jabber:iq:version"
	nsReceipts = "urn:xmpp:receipts"
	nsMarkers  = "urn:xmpp:chat-markers:0"
	nsCarbons  = "urn:xmpp:carbons:2"
	nsForward  = "urn:xmpp:forward:0"
	nsDelay    = "urn:xmpp:delay"
	nsSID      = "urn:xmpp:sid:0"
	nsMAM      = "urn:xmpp:mam:2"
	nsRSM      = "http://jabber.org/protocol/rsm"
	nsData     = "jabber:x:data"
	nsChatSt   = "http://jabber.org/protocol/chatstates"
	nsSM       = "urn:xmpp:sm:3"
	nsParley   = "urn:parley:error"
)

// element is one parsed XML element: a stanza or a nonza, with its subtree.
// Namespaces are resolved: XMLName.Space is the namespace URI.
type element struct {
	XMLName xml.Name
	Attr    []xml.Attr `xml:",any,attr"`
	Nodes   []element  `xml:",any"`
	Text    string     `xml:",chardata"`
}

// attr returns the value of the un-namespaced attribute name ("" if absent).
func (e *element) attr(name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == e.XMLName.Space) {
			return a.Value
		}
	}
	return ""
}

// child returns the first child named local in namespace space, or nil.
func (e *element) child(space, local string) *element {
	for i := range e.Nodes {
		n := &e.Nodes[i]
		if n.XMLName.Local == local && (space == "" || n.XMLName.Space == space) {
			return n
		}
	}
	return nil
}

// firstChild returns the first child element, or nil.
func (e *element) firstChild() *element {
	if len(e.Nodes) == 0 {
		return nil
	}
	return &e.Nodes[0]
}

// streamError is a condition of RFC 6120 §4.9.3 that ends the stream.
type streamError struct {
	cond string // e.g. "not-well-formed", "policy-violation"
	text string
}

func (e *streamError) Error() string { return "xmpp stream error " + e.cond + ": " + e.text }

func streamErr(cond, format string, args ...any) *streamError {
	return &streamError{cond: cond, text: fmt.Sprintf(format, args...)}
}

// errStreamClosed is returned by reader.next when the peer closed its
// stream (</stream:stream>); a transport that ends without it gives io.EOF
// (or another I/O error) instead: a broken connection, not a goodbye.
var errStreamClosed = errors.New("stream closed by the peer")

// errTooLarge is returned by the limited reader when a stanza exceeds the cap.
var errTooLarge = errors.New("stanza too large")

// limitReader counts the bytes read from the socket since the last reset and
// fails with errTooLarge beyond max. The decoder reads ahead by at most one
// buffer (4 KiB), so the cap holds to within that.
type limitReader struct {
	r   io.Reader
	n   int
	max int
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n >= l.max {
		return 0, errTooLarge
	}
	if len(p) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}

// reader decodes one XML stream from a connection: the stream header, then
// one top-level element at a time. It refuses what RFC 6120 §11.1 forbids
// (DTDs, comments, processing instructions, entity references other than
// the five predefined ones — encoding/xml never expands declared entities, so
// "billion laughs" cannot grow) with restricted-xml, malformed XML with
// not-well-formed and elements over the size cap with policy-violation.
type reader struct {
	lim *limitReader
	dec *xml.Decoder
}

func newReader(r io.Reader, maxStanza int) *reader {
	lim := &limitReader{r: r, max: maxStanza}
	dec := xml.NewDecoder(bufio.NewReaderSize(lim, 4096))
	dec.Strict = true
	dec.CharsetReader = nil // only UTF-8 (the default) is accepted
	return &reader{lim: lim, dec: dec}
}

// classify turns a decoder error into the stream error it deserves; I/O
// errors other than the size cap pass through unchanged.
func classify(err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, errTooLarge):
		return streamErr("policy-violation", "stanza larger than the server's limit")
	case errors.As(err, &se):
		if se.Msg == "unexpected EOF" {
			// The connection ended inside the open stream element: a broken
			// transport (resumable), not bad XML.
			return io.ErrUnexpectedEOF
		}
		if strings.Contains(se.Msg, "entity") {
			return streamErr("restricted-xml", "entity references are not allowed: %s", se.Msg)
		}
		return streamErr("not-well-formed", "%s", se.Msg)
	}
	var ue xml.UnmarshalError
	if errors.As(err, &ue) {
		return streamErr("not-well-formed", "%s", string(ue))
	}
	if err != nil && strings.Contains(err.Error(), "exceeded max depth") {
		return streamErr("policy-violation", "elements nested too deeply")
	}
	return err
}

// header reads up to the <stream:stream> start tag (after an optional XML
// declaration) and returns it.
func (r *reader) header() (xml.StartElement, error) {
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return xml.StartElement{}, classify(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" {
				return xml.StartElement{}, streamErr("restricted-xml", "processing instructions are not allowed")
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, streamErr("not-well-formed", "text before the stream header")
			}
		case xml.StartElement:
			if t.Name.Space != nsStream || t.Name.Local != "stream" {
				return xml.StartElement{}, streamErr("invalid-namespace", "expected <stream:stream xmlns:stream='%s'>", nsStream)
			}
			return t, nil
		case xml.Directive:
			return xml.StartElement{}, streamErr("restricted-xml", "DTDs and other directives are not allowed")
		case xml.Comment:
			return xml.StartElement{}, streamErr("restricted-xml", "comments are not allowed")
		default:
			return xml.StartElement{}, streamErr("not-well-formed", "unexpected %T before the stream header", tok)
		}
	}
}

// next returns the next top-level element of the stream; errStreamClosed
// when the peer closed the stream (</stream:stream>), an I/O error (io.EOF
// among them) when the connection ended without that. Whitespace
// between elements (keep-alives) is skipped.
func (r *reader) next() (*element, error) {
	r.lim.n = 0
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, classify(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el := new(element)
			if err := r.dec.DecodeElement(el, &t); err != nil {
				return nil, classify(err)
			}
			return el, nil
		case xml.EndElement:
			return nil, errStreamClosed
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, streamErr("not-well-formed", "text between stanzas")
			}
			r.lim.n = 0
		case xml.Directive:
			return nil, streamErr("restricted-xml", "DTDs and other directives are not allowed")
		case xml.Comment:
			return nil, streamErr("restricted-xml", "comments are not allowed")
		case xml.ProcInst:
			return nil, streamErr("restricted-xml", "processing instructions are not allowed")
		}
	}
}

// esc returns s escaped for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// xb builds XML text. Attribute and text values go through esc.
type xb struct{ bytes.Buffer }

// open writes <name attr1="v1" …> (pairs of name, value; empty values skipped
// except for xmlns).
func (b *xb) open(name string, kv ...string) *xb {
	b.WriteByte('<')
	b.WriteString(name)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" && kv[i] != "xmlns" {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(esc(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('>')
	return b
}

// empty writes <name attr…/>.
func (b *xb) empty(name string, kv ...string) *xb {
	b.open(name, kv...)
	b.Truncate(b.Len() - 1)
	b.WriteString("/>")
	return b
}

func (b *xb) close(name string) *xb {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
	return b
}

func (b *xb) text(s string) *xb { b.WriteString(esc(s)); return b }

// elem writes <name attr…>text</name>.
func (b *xb) elem(name, text string, kv ...string) *xb {
	return b.open(name, kv...).text(text).close(name)
}
