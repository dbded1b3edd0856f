package gateway

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/parley-chat/parley"
)

// Input.
//
// A connection's unconsumed input is Conn.buffered. While a reader is active
// on a polled connection it reads with one non-blocking syscall into a
// pooled buffer of readChunk bytes, takes every complete frame out of it and
// hands the buffer back before parking; only an incomplete frame's bytes
// stay with the connection (copied to the heap), so an idle connection
// holds no input buffer. Blocking readers (the auth phase, or no poller)
// read into a small heap buffer sized for the frame being read.

const (
	readChunk = 16 << 10 // pooled buffer of a polled reader
	minRead   = 1 << 10  // smallest read of a blocking reader
)

var readBufs = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

var errWouldBlock = errors.New("no input ready")

// parseHeader parses the WebSocket frame header at the start of b. n is
// the header's length, 0 if b does not hold all of it yet.
func parseHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] >> 4) & 0x07
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < n+2 {
			return h, 0, nil
		}
		h.Length = int64(binary.BigEndian.Uint16(b[n:]))
		n += 2
	case 127:
		if len(b) < n+8 {
			return h, 0, nil
		}
		v := binary.BigEndian.Uint64(b[n:])
		if v>>63 != 0 {
			return h, 0, &closeError{ReasonProtocolError, "bad frame header"}
		}
		h.Length = int64(v) // #nosec G115 -- the most significant bit is zero (checked above)
		n += 8
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// nextMessage takes the next complete data message out of c.buffered,
// reassembling fragments and answering control frames. ok is false when
// more input is needed (c.need then says how many bytes the buffer should
// hold). A control frame outside a fragmented message yields (nil, true,
// nil). The message aliases the input buffer: it is valid until the next
// fill. Client frames must be masked; text only; valid UTF-8; at most
// MaxFrameBytes after reassembly.
func (c *Conn) nextMessage() (msg []byte, ok bool, err error) {
	max := int64(c.g.cfg.MaxFrameBytes)
	for {
		b := c.buffered
		h, hl, err := parseHeader(b)
		if err != nil {
			return nil, false, err
		}
		if hl == 0 {
			c.need = 14 // the longest client header
			return nil, false, nil
		}
		if !h.Masked {
			return nil, false, &closeError{ReasonProtocolError, "client frames must be masked"}
		}
		if h.Rsv != 0 {
			return nil, false, &closeError{ReasonProtocolError, "no extension negotiated"}
		}
		if h.OpCode.IsControl() {
			if !h.Fin || h.Length > 125 {
				return nil, false, &closeError{ReasonProtocolError, "bad control frame"}
			}
		} else {
			switch h.OpCode {
			case ws.OpText:
				if c.frag != nil {
					return nil, false, &closeError{ReasonProtocolError, "new message inside a fragmented one"}
				}
			case ws.OpContinuation:
				if c.frag == nil {
					return nil, false, &closeError{ReasonProtocolError, "continuation without a message"}
				}
			case ws.OpBinary:
				return nil, false, &closeError{string(parley.CodeUnsupportedType), "binary frames are not supported; send JSON text frames"}
			default:
				return nil, false, &closeError{ReasonProtocolError, "reserved opcode"}
			}
			if h.Length > max-int64(len(c.frag)) {
				return nil, false, &closeError{string(parley.CodeTooLarge), "frame larger than max_frame_bytes"}
			}
		}
		total := hl + int(h.Length)
		if len(b) < total {
			c.need = total
			return nil, false, nil
		}
		c.need = 0
		p := b[hl:total]
		ws.Cipher(p, h.Mask, 0)
		c.buffered = b[total:]
		if h.OpCode.IsControl() {
			switch h.OpCode {
			case ws.OpPing:
				c.enqueue(opPong, append([]byte(nil), p...))
			case ws.OpClose:
				c.closeWith(ReasonNormal, "")
				return nil, false, errPeerClosed
			}
			if c.frag == nil {
				return nil, true, nil
			}
			continue
		}
		if c.frag == nil && h.Fin {
			msg = p
		} else {
			if c.frag == nil {
				c.frag = make([]byte, 0, len(p))
			}
			c.frag = append(c.frag, p...)
			if !h.Fin {
				continue
			}
			msg, c.frag = c.frag, nil
		}
		if !utf8.Valid(msg) {
			return nil, false, &closeError{ReasonInvalidUTF8, "text frames must be valid UTF-8"}
		}
		return msg, true, nil
	}
}

// room returns the free space to read into, making c.buffered able to hold
// the frame being read (c.need): a pooled buffer for non-blocking reads of
// frames that fit one, else a heap buffer.
func (c *Conn) room(blocking bool) []byte {
	n := len(c.buffered)
	want := max(c.need, n+1)
	if free := cap(c.buffered) - n; cap(c.buffered) >= want && free >= min(want-n, minRead) {
		return c.buffered[n:cap(c.buffered)]
	}
	if !blocking && want <= readChunk {
		if c.pooled == nil {
			c.pooled = readBufs.Get().(*[]byte)
		}
		nb := (*c.pooled)[:n]
		copy(nb, c.buffered) // may overlap: copy moves
		c.buffered = nb
		return c.buffered[n:cap(c.buffered)]
	}
	nb := make([]byte, n, max(want, n+minRead))
	copy(nb, c.buffered)
	c.buffered = nb
	if c.pooled != nil {
		readBufs.Put(c.pooled)
		c.pooled = nil
	}
	return c.buffered[n:cap(c.buffered)]
}

// fill reads once into c.buffered: through the net.Conn (blocking, under
// its read deadline), or with a non-blocking syscall (errWouldBlock if
// nothing is ready). c.drained records whether the read left the socket
// empty as far as it could tell (it returned less than it had room for).
func (c *Conn) fill(blocking bool) error {
	dst := c.room(blocking)
	var n int
	var err error
	if blocking {
		n, err = (*inbound)(c).readSocket(dst)
	} else {
		n, err = c.readNB(dst)
	}
	if n > 0 {
		c.buffered = c.buffered[:len(c.buffered)+n]
	}
	c.drained = n < len(dst)
	if err == nil && n == 0 && !blocking {
		err = io.EOF
	}
	return err
}

// releaseInput hands the pooled buffer back, keeping only the bytes of an
// incomplete frame. Call before the reader parks or ends.
func (c *Conn) releaseInput() {
	if len(c.buffered) == 0 {
		c.buffered = nil
	} else if c.pooled != nil {
		c.buffered = append(make([]byte, 0, max(len(c.buffered), c.need)), c.buffered...)
	}
	if c.pooled != nil {
		readBufs.Put(c.pooled)
		c.pooled = nil
	}
}

// readMessage reads (blocking) until a complete data message or a control
// frame arrives; see nextMessage.
func (c *Conn) readMessage() ([]byte, error) {
	for {
		msg, ok, err := c.nextMessage()
		if err != nil {
			return nil, err
		}
		if ok {
			return msg, nil
		}
		if err := c.fill(true); err != nil {
			return nil, err
		}
	}
}
