package xmpp

// Multi-user chat (XEP-0045) over groups and channels: not yet.

func (c *conn) mucIQ(el, p *element, to jid) {
	c.send(iqError(el, "cancel", "service-unavailable", "group chat is not available over XMPP yet", ""), true)
}

func (c *conn) mucMessage(el *element, to jid) {
	c.messageError(el, func(b *xb) {
		errorBody(b, "cancel", "service-unavailable", "group chat is not available over XMPP yet", "", "")
	})
}

func (c *conn) mucPresence(el *element, to jid) {}

func (c *conn) renderGroupMessage(ctx interface{}, b *xb, m interface{}, edited bool) {}
