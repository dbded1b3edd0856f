package xmpp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/parley-chat/parley"
)

// Blocking Command (XEP-0191) over Parley's blocks: the block list is the
// user's Parley block list (the same one the web client edits), items are
// bare JIDs of this server's users. Blocking someone stops direct messages
// both ways, presence and typing between the two (internal/app); a message
// to a blocked user is answered <not-acceptable/> with <blocked/>. Every
// change, wherever it was made, is pushed to the user's sessions that asked
// for the block list.

const (
	nsBlocking    = "urn:xmpp:blocking"
	nsBlockingErr = "urn:xmpp:blocking:errors"
)

type blocksFrame struct {
	UserID  string `json:"user_id"`
	Blocked bool   `json:"blocked"`
}

func decodeBlocks(e parley.Event) (*blocksFrame, error) {
	f := new(blocksFrame)
	return f, json.Unmarshal(e.Frame, f)
}

// blocking answers blocklist, block and unblock iqs.
func (c *conn) blocking(el, p *element) {
	switch p.XMLName.Local {
	case "blocklist":
		if el.attr("type") != "get" {
			c.send(iqError(el, "modify", "bad-request", "the block list is read with an iq of type get", ""), true)
			return
		}
		bs, err := c.s.app.Blocks(c.ctx, c.actor)
		if err != nil {
			c.iqAppError(el, err)
			return
		}
		c.blocklistSeen.Store(true)
		c.iqResult(el, func(b *xb) {
			b.open("blocklist", "xmlns", nsBlocking)
			for _, bl := range bs {
				if name := c.s.username(c.ctx, c.actor, bl.UserID); name != "" {
					b.empty("item", "jid", c.s.bare(name))
				}
			}
			b.close("blocklist")
		})
	case "block", "unblock":
		if el.attr("type") != "set" {
			c.send(iqError(el, "modify", "bad-request", "block and unblock are iqs of type set", ""), true)
			return
		}
		ids, err := c.blockItems(p)
		if err != nil {
			c.iqAppError(el, err)
			return
		}
		if p.XMLName.Local == "block" {
			if len(ids) == 0 {
				c.send(iqError(el, "modify", "bad-request", "block names at least one item", string(parley.CodeInvalid)), true)
				return
			}
			for _, id := range ids {
				if _, err := c.s.app.BlockUser(c.ctx, c.actor, id); err != nil {
					c.iqAppError(el, err)
					return
				}
			}
		} else {
			if len(ids) == 0 { // an empty unblock lifts every block
				bs, err := c.s.app.Blocks(c.ctx, c.actor)
				if err != nil {
					c.iqAppError(el, err)
					return
				}
				for _, b := range bs {
					ids = append(ids, b.UserID)
				}
			}
			for _, id := range ids {
				if err := c.s.app.UnblockUser(c.ctx, c.actor, id); err != nil && !parley.IsCode(err, parley.CodeNotFound) {
					c.iqAppError(el, err)
					return
				}
			}
		}
		c.iqResult(el, nil)
	default:
		c.send(iqError(el, "cancel", "service-unavailable", "", ""), true)
	}
}

// blockItems resolves the items' JIDs to user ids. Errors: invalid for a
// JID of another domain or without a local part (this server blocks its
// own users only), not_found for an unknown user.
func (c *conn) blockItems(p *element) ([]string, error) {
	var ids []string
	for i := range p.Nodes {
		n := &p.Nodes[i]
		if n.XMLName.Space != nsBlocking || n.XMLName.Local != "item" {
			continue
		}
		j := parseJID(n.attr("jid"))
		if j.domain != c.s.cfg.Domain || j.local == "" {
			return nil, parley.Invalid("jid", "only users of %s can be blocked here (got %q)", c.s.cfg.Domain, n.attr("jid"))
		}
		u, err := c.s.app.UserByUsername(c.ctx, c.actor, j.local)
		if err != nil {
			return nil, err
		}
		ids = append(ids, u.ID)
	}
	if len(ids) > 100 {
		return nil, parley.TooLarge("jid", "at most 100 items per request")
	}
	return ids, nil
}

// renderBlocks pushes a block list change to a session that asked for the
// list (XEP-0191 §3.3, §3.4).
func (c *conn) renderBlocks(b *xb, f *blocksFrame) {
	if c.blocked != nil {
		if f.Blocked {
			c.blocked[f.UserID] = true
		} else {
			delete(c.blocked, f.UserID)
		}
	}
	if !c.blocklistSeen.Load() {
		return
	}
	name := c.s.username(c.ctx, c.actor, f.UserID)
	if name == "" {
		return
	}
	op := "unblock"
	if f.Blocked {
		op = "block"
	}
	id := "push-" + strconv.FormatUint(c.pushSeq.Add(1), 10)
	b.open("iq", "type", "set", "id", id, "to", c.jid, "xmlns", nsClient).
		open(op, "xmlns", nsBlocking).empty("item", "jid", c.s.bare(name)).close(op).
		close("iq")
}

// blocks returns the users this session's user blocks, read once and then
// kept up to date by block events. Writer goroutine only. On a read error
// it returns an empty set and tries again next time.
func (c *conn) blocks(ctx context.Context) map[string]bool {
	if c.blocked != nil {
		return c.blocked
	}
	bs, err := c.s.app.Blocks(ctx, c.actor)
	if err != nil {
		return nil
	}
	c.blocked = make(map[string]bool, len(bs))
	for _, b := range bs {
		c.blocked[b.UserID] = true
	}
	return c.blocked
}

// isBlocked reports whether err is the refusal between a blocked pair.
func isBlocked(err error) bool {
	var pe *parley.Error
	return errors.As(err, &pe) && pe.Code == parley.CodeForbidden && pe.Message == parley.ErrBlocked(pe.Field).Message
}
