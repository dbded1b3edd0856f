package xmpp

import (
	"errors"
	"strings"

	"github.com/parley-chat/parley"
)

// handle processes one top-level element of a bound session. A returned
// stream error ends the stream; everything else is answered in-band.
func (c *conn) handle(el *element) *streamError {
	if c.smNonza(el) {
		return nil
	}
	if el.XMLName.Space != nsClient {
		return streamErr("unsupported-stanza-type", "<%s xmlns='%s'> is not a stanza this server knows", el.XMLName.Local, el.XMLName.Space)
	}
	switch el.XMLName.Local {
	case "message":
		// A new message goes into the send pipeline (pipeSend); anything
		// else a message can carry waits for the sends before it.
		if el.child(nsClient, "body") == nil {
			c.waitSends()
		}
		c.message(el)
	case "presence":
		c.waitSends()
		c.presence(el)
	case "iq":
		c.waitSends()
		c.iq(el)
	default:
		return streamErr("unsupported-stanza-type", "<%s/> is not a stanza", el.XMLName.Local)
	}
	c.handled()
	return nil
}

// stanzaError maps a Parley error to an XMPP stanza error condition and type
// (RFC 6120 §8.3.3); docs/xmpp.md has the table.
func stanzaError(err error) (typ, cond string) {
	switch parley.ErrorCode(err) {
	case parley.CodeInvalid:
		return "modify", "bad-request"
	case parley.CodeTooLarge:
		return "modify", "policy-violation"
	case parley.CodeNotFound:
		return "cancel", "item-not-found"
	case parley.CodeForbidden:
		return "auth", "forbidden"
	case parley.CodeUnauthenticated:
		return "auth", "not-authorized"
	case parley.CodeConflict:
		return "cancel", "conflict"
	case parley.CodeRateLimited:
		return "wait", "resource-constraint"
	case parley.CodeUnavailable:
		return "wait", "service-unavailable"
	}
	return "cancel", "internal-server-error"
}

// errorBody writes <error type><cond/><text/><parley-error code field/></error>.
func errorBody(b *xb, typ, cond, text, code, field string) {
	b.open("error", "type", typ).empty(cond, "xmlns", nsStanzas)
	if text != "" {
		b.elem("text", text, "xmlns", nsStanzas, "xml:lang", "en")
	}
	if code != "" {
		b.empty("parley-error", "xmlns", nsParley, "code", code, "field", field)
	}
	b.close("error")
}

// appError renders err's error element.
func appError(b *xb, err error) {
	var pe *parley.Error
	if isBlocked(err) && errors.As(err, &pe) { // XEP-0191 §3.5
		b.open("error", "type", "cancel").empty("not-acceptable", "xmlns", nsStanzas).
			elem("text", pe.Message, "xmlns", nsStanzas, "xml:lang", "en").
			empty("blocked", "xmlns", nsBlockingErr).
			empty("parley-error", "xmlns", nsParley, "code", string(parley.ErrorCode(err)), "field", pe.Field).
			close("error")
		return
	}
	typ, cond := stanzaError(err)
	msg, field := "internal error", ""
	if pe, ok := err.(*parley.Error); ok {
		msg, field = pe.Message, pe.Field
		if pe.Code == parley.CodeInternal {
			msg = "internal error"
		}
	}
	errorBody(b, typ, cond, msg, string(parley.ErrorCode(err)), field)
}

// iqError answers an iq with an error.
func iqError(el *element, typ, cond, text, code string) []byte {
	var b xb
	b.open("iq", "type", "error", "id", el.attr("id"), "from", el.attr("to"))
	errorBody(&b, typ, cond, text, code, "")
	return b.close("iq").Bytes()
}

func (c *conn) iqAppError(el *element, err error) {
	var b xb
	b.open("iq", "type", "error", "id", el.attr("id"), "from", el.attr("to"), "to", c.jid)
	appError(&b, err)
	c.send(b.close("iq").Bytes(), true)
}

func (c *conn) iqResult(el *element, payload func(b *xb)) {
	var b xb
	b.open("iq", "type", "result", "id", el.attr("id"), "from", el.attr("to"), "to", c.jid)
	if payload != nil {
		payload(&b)
	}
	c.send(b.close("iq").Bytes(), true)
}

// jid is a parsed address.
type jid struct{ local, domain, resource string }

func parseJID(s string) jid {
	var j jid
	rest, res, _ := strings.Cut(s, "/")
	j.resource = res
	if l, d, ok := strings.Cut(rest, "@"); ok {
		j.local, j.domain = l, d
	} else {
		j.domain = rest
	}
	j.domain = strings.ToLower(j.domain)
	return j
}

func (j jid) bare() string {
	if j.local == "" {
		return j.domain
	}
	return j.local + "@" + j.domain
}

// iq dispatches an iq by type and payload namespace.
func (c *conn) iq(el *element) {
	typ := el.attr("type")
	if typ == "result" || typ == "error" {
		return // answers to our (none) requests: ignored
	}
	if el.attr("id") == "" || (typ != "get" && typ != "set") {
		c.send(iqError(el, "modify", "bad-request", "an iq needs an id and type get or set", ""), true)
		return
	}
	p := el.firstChild()
	if p == nil || len(el.Nodes) != 1 {
		c.send(iqError(el, "modify", "bad-request", "an iq get/set carries exactly one payload", ""), true)
		return
	}
	to := parseJID(el.attr("to"))
	if to.domain == c.s.mucDomain() {
		c.mucIQ(el, p, to)
		return
	}
	if to.domain == c.s.uploadDomain() && to.local == "" && c.s.cfg.Files != nil {
		c.uploadIQ(el, p)
		return
	}
	switch p.XMLName.Space + " " + p.XMLName.Local {
	case nsSession + " session":
		c.iqResult(el, nil)
	case nsPing + " ping":
		c.iqResult(el, nil)
	case nsRoster + " query":
		c.roster(el, p)
	case nsDiscoI + " query":
		c.discoInfo(el, p, to)
	case nsDiscoIt + " query":
		c.discoItems(el, p, to)
	case nsVersion + " query":
		c.iqResult(el, func(b *xb) {
			b.open("query", "xmlns", nsVersion).elem("name", "Parley").elem("version", "xmpp-gateway").close("query")
		})
	case nsCarbons + " enable":
		c.carbons.Store(true)
		c.iqResult(el, nil)
	case nsCarbons + " disable":
		c.carbons.Store(false)
		c.iqResult(el, nil)
	case nsMAM + " query":
		c.mam(el, p, to)
	case nsBlocking + " blocklist", nsBlocking + " block", nsBlocking + " unblock":
		c.blocking(el, p)
	case nsBind + " bind":
		c.send(iqError(el, "cancel", "not-allowed", "this stream has already bound a resource", ""), true)
	default:
		c.send(iqError(el, "cancel", "service-unavailable", "", ""), true)
	}
}

// features lists what the server supports (disco#info of the domain and of
// account JIDs).
var serverFeatures = []string{
	nsDiscoI, nsDiscoIt, nsPing, nsVersion, nsCarbons, nsReceipts, nsMarkers, nsMAM, nsSID, nsChatSt, nsBlocking,
	"msgoffline",
}

func (c *conn) discoInfo(el, p *element, to jid) {
	c.iqResult(el, func(b *xb) {
		b.open("query", "xmlns", nsDiscoI, "node", p.attr("node"))
		if to.local == "" {
			b.empty("identity", "category", "server", "type", "im", "name", "Parley")
		} else {
			b.empty("identity", "category", "account", "type", "registered")
		}
		for _, f := range serverFeatures {
			b.empty("feature", "var", f)
		}
		b.close("query")
	})
}

func (c *conn) discoItems(el, p *element, to jid) {
	c.iqResult(el, func(b *xb) {
		b.open("query", "xmlns", nsDiscoIt, "node", p.attr("node"))
		if to.local == "" && (to.domain == c.s.cfg.Domain || to.domain == "") {
			b.empty("item", "jid", c.s.mucDomain(), "name", "Parley groups and channels")
			if c.s.cfg.Files != nil {
				b.empty("item", "jid", c.s.uploadDomain(), "name", "Parley file upload")
			}
		}
		b.close("query")
	})
}
