package gateway

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/parley-chat/parley"
)

// Pipelined sends.
//
// A connection may have up to MaxInflightSends send frames in flight. The
// reader hands each send to a goroutine of its own and reads the next frame
// as soon as that send's place in the store's commit order is fixed
// (parley.Queued) or the send has failed — not when it is durable. One
// connection is then not limited to one message per commit, and its
// messages are still stored in the order it sent them.
//
// Answers keep frame order (docs/protocol.md): acks are written in the
// order their sends were read, whatever order the sends finish in, and any
// other frame is handled only after every send before it was answered.
//
// While sends are in flight the connection is corked: events queue without
// being written until the next ack leaves, so a send's own message event and
// its ack (and whatever else arrived meanwhile) go out in one write. An
// event waits at most one commit for it.

// MaxInflightSends bounds the sends one connection may have in flight; the
// reader stops taking frames while the bound is reached.
const MaxInflightSends = 32

// sendPipe is a connection's in-flight sends. Lock order: mu, then Conn.mu.
type sendPipe struct {
	mu      sync.Mutex
	slots   []*sendSlot   // reserved answers, in frame order
	wait    chan struct{} // closed when len(slots) falls to waitFor
	waitFor int
	running sync.WaitGroup // send goroutines
}

// sendSlot is the answer of one send, written once when done.
type sendSlot struct {
	out  []byte
	done bool
}

// pipeSend starts send frame f and returns once its order is fixed. Called
// by the reader only.
func (c *Conn) pipeSend(f ClientFrame) {
	if c.pipe == nil {
		c.pipe = &sendPipe{}
	}
	p := c.pipe
	c.waitSends(MaxInflightSends - 1)
	slot := &sendSlot{}
	p.mu.Lock()
	if len(p.slots) == 0 {
		c.cork()
	}
	p.slots = append(p.slots, slot)
	p.mu.Unlock()

	queued := make(chan struct{})
	var once sync.Once
	mark := func() { once.Do(func() { close(queued) }) }
	ctx, cancel := context.WithTimeout(c.g.ctx, c.g.cfg.OpTimeout)
	ctx = parley.WithQueued(ctx, mark)
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		defer cancel()
		defer mark()
		var out []byte
		defer func() {
			if v := recover(); v != nil {
				c.g.log.Error("panic in websocket send", "conn_id", c.ConnID(), "panic", v)
				c.closeWith(string(parley.CodeInternal), "internal error")
				out = errorFrame(f.Ref, parley.Errorf(parley.CodeInternal, "internal error"))
			}
			c.answerSend(p, slot, out)
		}()
		out = c.send(ctx, f)
	}()
	<-queued
}

// send performs one send frame and returns its answer: ack or error.
func (c *Conn) send(ctx context.Context, f ClientFrame) []byte {
	m, enc, created, err := c.g.be.Send(ctx, c.actor, f.ConversationID, f.ClientMsgID, f.Body, f.ReplyTo, f.AttachmentIDs, f.E2EE)
	if err != nil {
		return c.errorAnswer(f, err)
	}
	if created && enc != nil {
		return ackJSON(f.Ref, enc)
	}
	return encode(ackFrame{Type: "ack", Ref: f.Ref, Created: created, Message: m})
}

// ackJSON is the ack of a new message with msgJSON, the message's encoding,
// spliced in: the same bytes encode(ackFrame{…, Created: true}) makes.
func ackJSON(ref string, msgJSON []byte) []byte {
	b := make([]byte, 0, len(msgJSON)+len(ref)+48)
	b = append(b, `{"type":"ack"`...)
	if ref != "" {
		r, _ := json.Marshal(ref) // a string always encodes
		b = append(append(b, `,"ref":`...), r...)
	}
	b = append(b, `,"created":true,"message":`...)
	b = append(b, msgJSON...)
	return append(b, '}')
}

// answerSend fills slot and writes every answer at the head of the pipe
// that is ready, in order.
func (c *Conn) answerSend(p *sendPipe, slot *sendSlot, out []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot.out, slot.done = out, true
	n := 0
	for n < len(p.slots) && p.slots[n].done {
		c.enqueue(opText, p.slots[n].out)
		n++
	}
	if n == 0 {
		return
	}
	rest := copy(p.slots, p.slots[n:])
	clear(p.slots[rest:])
	p.slots = p.slots[:rest]
	if rest == 0 {
		c.uncork()
	} else {
		c.kick() // later sends are in flight: stay corked, but let this ack out
	}
	if p.wait != nil && len(p.slots) <= p.waitFor {
		close(p.wait)
		p.wait = nil
	}
}

// waitSends blocks the reader until at most n sends are unanswered.
func (c *Conn) waitSends(n int) {
	p := c.pipe
	if p == nil {
		return
	}
	p.mu.Lock()
	if len(p.slots) <= n {
		p.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	p.wait, p.waitFor = ch, n
	p.mu.Unlock()
	<-ch
}

// endSends waits for every send goroutine to finish (the connection is
// ending; their answers are dropped if it closed meanwhile).
func (c *Conn) endSends() {
	if c.pipe != nil {
		c.pipe.running.Wait()
	}
}
