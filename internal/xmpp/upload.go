package xmpp

import (
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
)

// HTTP File Upload (XEP-0363) and file links. The upload service is the
// component upload.<domain>: a slot request answers with a PUT URL (an
// app upload slot) and a GET URL (the file's capability link). A message
// whose body carries such GET URLs of the sender's unsent files is stored
// with those files attached (the web client shows them as files); files of
// messages from anywhere reach XMPP clients as GET URLs in the body, plus
// an out-of-band URL (XEP-0066) for the first, which clients show inline.

const (
	nsUpload = "urn:xmpp:http:upload:0"
	nsOOB    = "jabber:x:oob"
)

// FileLinks builds the absolute HTTP URLs of upload slots and file
// capabilities (the HTTP transport owns the paths). Nil turns HTTP File
// Upload off, and files show as "[file: name]".
type FileLinks struct {
	Slot func(token, name string) string   // the PUT URL of a slot
	File func(id, sig, name string) string // the GET URL of a file
	// Parse returns the attachment id of a URL File built, or false.
	Parse func(url string) (id string, ok bool)
}

func (s *Server) uploadDomain() string { return "upload." + s.cfg.Domain }

// uploadIQ answers disco#info and slot requests sent to the upload service.
func (c *conn) uploadIQ(el, p *element) {
	switch p.XMLName.Space + " " + p.XMLName.Local {
	case nsDiscoI + " query":
		max := strconv.FormatInt(c.s.app.MediaLimits().MaxFileBytes, 10)
		c.iqResult(el, func(b *xb) {
			b.open("query", "xmlns", nsDiscoI).
				empty("identity", "category", "store", "type", "file", "name", "Parley file upload").
				empty("feature", "var", nsUpload).
				open("x", "xmlns", nsData, "type", "result").
				open("field", "var", "FORM_TYPE", "type", "hidden").elem("value", nsUpload).close("field").
				open("field", "var", "max-file-size").elem("value", max).close("field").
				close("x").close("query")
		})
	case nsDiscoIt + " query":
		c.iqResult(el, func(b *xb) { b.empty("query", "xmlns", nsDiscoIt) })
	case nsUpload + " request":
		c.slotRequest(el, p)
	default:
		c.send(iqError(el, "cancel", "service-unavailable", "", ""), true)
	}
}

func (c *conn) slotRequest(el, p *element) {
	if el.attr("type") != "get" {
		c.send(iqError(el, "modify", "bad-request", "a slot request is an iq of type get", ""), true)
		return
	}
	name := strings.TrimSpace(p.attr("filename"))
	size, err := strconv.ParseInt(p.attr("size"), 10, 64)
	if name == "" || err != nil {
		c.send(iqError(el, "modify", "bad-request", "a slot request needs a filename and a size in bytes", string(parley.CodeInvalid)), true)
		return
	}
	slot, err := c.s.app.CreateUploadSlot(c.ctx, c.actor, name, size)
	if parley.IsCode(err, parley.CodeTooLarge) && size > c.s.app.MediaLimits().MaxFileBytes {
		var b xb
		b.open("iq", "type", "error", "id", el.attr("id"), "from", el.attr("to"), "to", c.jid).
			open("error", "type", "modify").empty("not-acceptable", "xmlns", nsStanzas).
			elem("text", err.Error(), "xmlns", nsStanzas, "xml:lang", "en").
			open("file-too-large", "xmlns", nsUpload).
			elem("max-file-size", strconv.FormatInt(c.s.app.MediaLimits().MaxFileBytes, 10)).
			close("file-too-large").close("error")
		c.send(b.close("iq").Bytes(), true)
		return
	}
	if err != nil {
		c.iqAppError(el, err)
		return
	}
	files := c.s.cfg.Files
	c.iqResult(el, func(b *xb) {
		b.open("slot", "xmlns", nsUpload).
			empty("put", "url", files.Slot(slot.Token, slot.Name)).
			empty("get", "url", files.File(slot.AttachmentID, slot.Capability, slot.Name)).
			close("slot")
	})
}

// fileLinks splits an inbound body into the text to store and the ids of
// files it links to by their GET URLs (each word that is such a URL is
// taken out of the text). oob is the message's out-of-band URL, if any.
func (s *Server) fileLinks(body, oob string) (text string, ids []string) {
	if s.cfg.Files == nil || !strings.Contains(body+oob, "://") {
		return body, nil
	}
	seen := map[string]bool{}
	add := func(u string) bool {
		id, ok := s.cfg.Files.Parse(u)
		if ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		return ok
	}
	if oob != "" {
		add(oob)
	}
	var kept []string
	for _, line := range strings.Split(body, "\n") {
		words := strings.Fields(line)
		out := words[:0]
		for _, w := range words {
			if !add(w) {
				out = append(out, w)
			}
		}
		if len(out) > 0 || len(words) == 0 {
			kept = append(kept, strings.Join(out, " "))
		}
	}
	if len(ids) == 0 {
		return body, nil
	}
	return strings.TrimSpace(strings.Join(kept, "\n")), ids
}

// messageText is the body shown to XMPP clients: the text, and a line per
// attachment: its GET URL when file links are on, else its name.
func (s *Server) messageText(m *parley.Message) string {
	if m.E2EE != nil { // end-to-end encrypted: the gateway cannot read it
		return parley.EncryptedPlaceholder
	}
	t := m.Body
	for _, a := range m.Attachments {
		if t != "" {
			t += "\n"
		}
		if s.cfg.Files != nil {
			t += s.cfg.Files.File(a.ID, s.app.FileCapability(a.ID), a.Name)
		} else {
			t += "[file: " + a.Name + "]"
		}
	}
	return t
}

// oob writes the out-of-band element (XEP-0066) of m's first file, which
// clients such as Conversations and Gajim show inline.
func (s *Server) oob(b *xb, m *parley.Message) {
	if s.cfg.Files == nil || len(m.Attachments) == 0 {
		return
	}
	a := m.Attachments[0]
	b.open("x", "xmlns", nsOOB).elem("url", s.cfg.Files.File(a.ID, s.app.FileCapability(a.ID), a.Name)).close("x")
}
