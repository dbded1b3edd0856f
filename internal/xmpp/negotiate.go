package xmpp

import (
	"crypto/tls"
	"encoding/base64"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// maxAuthFailures is how many failed SASL attempts one stream may make.
const maxAuthFailures = 3

// openStream reads the client's stream header and answers with ours.
func (c *conn) openStream() error {
	c.wmu.Lock()
	nc := c.nc
	c.wmu.Unlock()
	c.r = newReader(nc, c.s.cfg.MaxStanzaBytes)
	hdr, err := c.r.header()
	if err != nil {
		return err
	}
	var b xb
	b.WriteString("<?xml version='1.0'?>")
	b.open("stream:stream", "xmlns", nsClient, "xmlns:stream", nsStream, "id", randomID(),
		"from", c.s.cfg.Domain, "version", "1.0", "xml:lang", "en")
	if err := c.writeNow(b.Bytes()); err != nil {
		return err
	}
	c.opened = true
	to := ""
	for _, a := range hdr.Attr {
		if a.Name.Local == "to" && a.Name.Space == "" {
			to = a.Value
		}
	}
	if to != "" && !strings.EqualFold(to, c.s.cfg.Domain) {
		return streamErr("host-unknown", "this server serves %s", c.s.cfg.Domain)
	}
	return nil
}

// negotiate runs STARTTLS, SASL and resource binding (or a stream
// management resume). It returns the session the connection now carries:
// c itself after binding, or the resumed session.
func (c *conn) negotiate() (*conn, error) {
	// 1. STARTTLS, required.
	if err := c.openStream(); err != nil {
		return nil, err
	}
	var f xb
	f.open("stream:features").open("starttls", "xmlns", nsTLS).empty("required").close("starttls").close("stream:features")
	if err := c.writeNow(f.Bytes()); err != nil {
		return nil, err
	}
	el, err := c.r.next()
	if err != nil {
		return nil, err
	}
	if el.XMLName.Space != nsTLS || el.XMLName.Local != "starttls" {
		return nil, streamErr("policy-violation", "STARTTLS is required first")
	}
	if err := c.writeNow([]byte("<proceed xmlns='" + nsTLS + "'/>")); err != nil {
		return nil, err
	}
	tc := tls.Server(c.nc, c.s.cfg.TLS)
	_ = tc.SetDeadline(time.Now().Add(c.s.cfg.AuthTimeout))
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	c.wmu.Lock()
	c.nc = tc
	c.wmu.Unlock()

	// 2. SASL.
	if err := c.openStream(); err != nil {
		return nil, err
	}
	f.Reset()
	f.open("stream:features").open("mechanisms", "xmlns", nsSASL).
		elem("mechanism", "SCRAM-SHA-256").elem("mechanism", "PLAIN").close("mechanisms").close("stream:features")
	if err := c.writeNow(f.Bytes()); err != nil {
		return nil, err
	}
	if err := c.authenticate(); err != nil {
		return nil, err
	}

	// 3. Bind, or resume.
	if err := c.openStream(); err != nil {
		return nil, err
	}
	f.Reset()
	f.open("stream:features").empty("bind", "xmlns", nsBind).
		open("session", "xmlns", nsSession).empty("optional").close("session").
		empty("sm", "xmlns", nsSM).close("stream:features")
	if err := c.writeNow(f.Bytes()); err != nil {
		return nil, err
	}
	for {
		el, err := c.r.next()
		if err != nil {
			return nil, err
		}
		switch {
		case el.XMLName.Space == nsSM && el.XMLName.Local == "resume":
			if old := c.resume(el); old != nil {
				return old, nil
			}
		case el.XMLName.Local == "iq" && el.child(nsBind, "bind") != nil && el.attr("type") == "set":
			c.bind(el)
			return c, nil
		case el.XMLName.Local == "iq":
			c.writeNow(iqError(el, "cancel", "not-allowed", "bind a resource first", ""))
		default:
			return nil, streamErr("not-authorized", "bind a resource first")
		}
	}
}

// authenticate runs SASL until success, allowing maxAuthFailures failures.
func (c *conn) authenticate() error {
	for fails := 0; ; {
		el, err := c.r.next()
		if err != nil {
			return err
		}
		if el.XMLName.Space != nsSASL || el.XMLName.Local != "auth" {
			return streamErr("not-authorized", "authenticate first")
		}
		var tok string
		var extra []byte
		switch el.attr("mechanism") {
		case "PLAIN":
			tok, err = c.plain(el.Text)
		case "SCRAM-SHA-256":
			tok, extra, err = c.scram(el.Text)
		default:
			err = saslFailure("invalid-mechanism", "offered: SCRAM-SHA-256, PLAIN")
		}
		if err != nil {
			if sf, ok := err.(*saslError); ok {
				if werr := c.writeNow(sf.xml()); werr != nil {
					return werr
				}
				if fails++; fails >= maxAuthFailures {
					return streamErr("policy-violation", "too many failed authentication attempts")
				}
				continue
			}
			return err
		}
		actor, u, err := c.s.rt.AuthenticateUser(c.ctx, tok)
		if err != nil {
			return streamErr("internal-server-error", "the new session did not authenticate")
		}
		c.actor, c.user = actor, u
		c.log = c.log.With("user_id", actor.UserID, "session_id", actor.SessionID)
		var b xb
		if extra != nil {
			b.elem("success", base64.StdEncoding.EncodeToString(extra), "xmlns", nsSASL)
		} else {
			b.empty("success", "xmlns", nsSASL)
		}
		return c.writeNow(b.Bytes())
	}
}

// saslError is a SASL <failure/> (RFC 6120 §6.5).
type saslError struct{ cond, text string }

func (e *saslError) Error() string { return "sasl " + e.cond + ": " + e.text }

func saslFailure(cond, text string) *saslError { return &saslError{cond: cond, text: text} }

func (e *saslError) xml() []byte {
	var b xb
	b.open("failure", "xmlns", nsSASL).empty(e.cond)
	if e.text != "" {
		b.elem("text", e.text, "xml:lang", "en")
	}
	return b.close("failure").Bytes()
}

// saslFromError maps an app error of a sign-in to a SASL failure.
func saslFromError(err error) error {
	switch parley.ErrorCode(err) {
	case parley.CodeUnauthenticated, parley.CodeInvalid, parley.CodeTooLarge:
		return saslFailure("not-authorized", "wrong username or password")
	case parley.CodeForbidden:
		return saslFailure("account-disabled", "this account is disabled")
	case parley.CodeRateLimited:
		return saslFailure("temporary-auth-failure", "too many failed sign-ins; wait before trying again")
	}
	return saslFailure("temporary-auth-failure", "the server cannot sign you in right now")
}

// bind answers a resource binding request: the session's full JID.
func (c *conn) bind(el *element) {
	res := cleanResource(el.child(nsBind, "bind").child(nsBind, "resource"))
	c.resource = res + "." + randomID()[:6]
	if res == "" {
		c.resource = "parley." + randomID()[:8]
	}
	c.jid = c.s.bare(c.user.Username) + "/" + c.resource
	var b xb
	b.open("iq", "type", "result", "id", el.attr("id")).open("bind", "xmlns", nsBind).
		elem("jid", c.jid).close("bind").close("iq")
	_ = c.writeNow(b.Bytes())
}

// cleanResource keeps a client-chosen resource if it is short printable text.
func cleanResource(e *element) string {
	if e == nil {
		return ""
	}
	r := strings.TrimSpace(e.Text)
	if len(r) > 64 {
		return ""
	}
	for _, ch := range r {
		if ch < 0x20 || ch == 0x7f || ch == '/' {
			return ""
		}
	}
	return r
}

// bound starts a freshly bound session: routing and subscriptions.
func (c *conn) bound() {
	_ = c.nc.SetDeadline(time.Time{})
	c.s.hub.register(c)
	ids, err := c.s.rt.ConversationIDs(c.ctx, c.actor)
	if err != nil {
		c.log.Warn("xmpp conversation list", "err", err)
	}
	c.s.hub.subscribe(c, ids...)
}
