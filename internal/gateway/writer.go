package gateway

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// maxBatch caps the bytes one writer gathers for one connection per write.
const maxBatch = 256 << 10

// writer is one of the gateway's fixed pool of writer goroutines. A
// connection with queued frames sits in exactly one writer's ready list
// (Conn.scheduled guards that); the writer takes its whole queue, frames it
// into one buffer and writes it with one non-blocking syscall.
type writer struct {
	g    *Gateway
	mu   sync.Mutex
	rdy  []*Conn
	wake chan struct{}
	buf  []byte
	quit bool

	// writeNB's state, used by the writer goroutine only.
	rawFn func(uintptr) bool
	wb    []byte
	wn    int
	werr  error
}

func (w *writer) push(c *Conn) {
	w.mu.Lock()
	w.rdy = append(w.rdy, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) stop() {
	w.mu.Lock()
	w.quit = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) run() {
	defer w.g.bg.Done()
	var batch []*Conn
	for range w.wake {
		for {
			w.mu.Lock()
			if w.quit {
				w.mu.Unlock()
				return
			}
			batch, w.rdy = w.rdy, batch[:0]
			w.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for i, c := range batch {
				w.flush(c)
				batch[i] = nil
			}
		}
	}
}

// appendFrame appends one unmasked server frame (header and payload).
func appendFrame(b []byte, op ws.OpCode, p []byte) []byte {
	n := len(p)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(op), byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|byte(op), 126, byte(n>>8), byte(n)) // #nosec G115 -- op is a 4-bit opcode; n < 65536 in this branch
	default:
		b = append(b, 0x80|byte(op), 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

// flush writes what c has queued. c.scheduled is true on entry and stays
// true until flush (or the slow path) finds the queue empty.
func (w *writer) flush(c *Conn) {
	c.mu.Lock()
	buf := append(w.buf[:0], c.pending...)
	c.pending = nil
	q := c.queue
	i := 0
	for ; i < len(q) && len(buf) < maxBatch; i++ {
		buf = appendFrame(buf, q[i].op, q[i].p)
		c.qbytes -= len(q[i].p)
		q[i] = outFrame{}
	}
	closing := false
	if i == len(q) {
		c.queue = nil
		if cap(q) <= 64 && c.spare == nil {
			c.spare = q[:0]
		}
		if c.closeFrame != nil && !c.closeSent {
			buf = appendFrame(buf, opClose, c.closeFrame)
			c.closeFrame = nil
			c.closeSent = true
			closing = true
		}
	} else {
		c.queue = q[i:]
	}
	c.mu.Unlock()

	n, err := w.writeNB(c, buf)
	if cap(buf) <= maxBatch*2 {
		w.buf = buf[:0]
	} else {
		w.buf = nil
	}
	if err != nil {
		_ = c.nc.Close() // the reader sees the error and tears down
		c.resume()
		return
	}
	if n < len(buf) {
		rest := append([]byte(nil), buf[n:]...)
		go c.slowWrite(rest, closing)
		return
	}
	w.after(c, closing)
}

// after finishes a flush: half-closes after the close frame, or
// reschedules if more frames arrived meanwhile.
func (w *writer) after(c *Conn, closing bool) {
	if closing {
		if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(c.g.cfg.CloseGrace))
		c.resume() // a parked connection needs a reader to drain and finish
		return     // stays scheduled: nothing more is ever written
	}
	c.mu.Lock()
	more := len(c.queue) > 0 || c.pending != nil || (c.closeFrame != nil && !c.closeSent)
	if !more {
		c.scheduled = false
	}
	c.mu.Unlock()
	if more {
		w.push(c)
	}
}

// slowWrite is the path of a connection whose socket buffer is full: a
// goroutine of its own blocks (up to WriteTimeout) so that the writer does
// not. Frames keep queuing meanwhile, up to the queue bounds.
func (c *Conn) slowWrite(b []byte, closing bool) {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	_ = c.nc.SetWriteDeadline(time.Time{})
	if err != nil {
		_ = c.nc.Close()
		c.resume()
		return
	}
	c.w.after(c, closing)
}

// writeNB writes b to c without blocking and returns how much the socket
// took. The raw-write callback is the writer's own, made once, so a write
// allocates nothing.
func (w *writer) writeNB(c *Conn, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if c.raw == nil {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout))
		return c.nc.Write(b)
	}
	if w.rawFn == nil {
		w.rawFn = w.rawWrite
	}
	w.wb, w.wn, w.werr = b, 0, nil
	err := c.raw.Write(w.rawFn)
	n, werr := w.wn, w.werr
	w.wb = nil
	if werr == nil {
		werr = err
	}
	return n, werr
}

// writeCloseNow writes a close frame directly (connections never accepted).
func writeCloseNow(nc interface{ Write([]byte) (int, error) }, code int, text string) error {
	_, err := nc.Write(appendFrame(nil, opClose, ws.NewCloseFrameBody(ws.StatusCode(code), text))) // #nosec G115 -- close codes are 1000-4999
	return err
}
