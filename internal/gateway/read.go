package gateway

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/parley-chat/parley"
)

// closeError ends the read loop, asking for a close with reason.
type closeError struct {
	reason string
	text   string
}

func (e *closeError) Error() string { return e.reason + ": " + e.text }

var errPeerClosed = errors.New("peer closed")

// inbound reads a connection's input: the handshake leftovers, then the
// socket.
type inbound Conn

func (r *inbound) Read(p []byte) (int, error) {
	c := (*Conn)(r)
	if len(c.buffered) > 0 {
		n := copy(p, c.buffered)
		c.buffered = c.buffered[n:]
		if len(c.buffered) == 0 {
			c.buffered = nil
		}
		return n, nil
	}
	return c.nc.Read(p)
}

// readSocket reads from the socket only (blocking, under the read deadline).
func (r *inbound) readSocket(p []byte) (int, error) { return (*Conn)(r).nc.Read(p) }

// allow takes one token from the connection's bucket.
func (c *Conn) allow(now time.Time) bool {
	cfg := &c.g.cfg
	ns := now.UnixNano()
	if c.lastTick != 0 {
		c.tokens += float64(ns-c.lastTick) / 1e9 * cfg.OpsPerSecond
		if c.tokens > float64(cfg.OpsBurst) {
			c.tokens = float64(cfg.OpsBurst)
		}
	}
	c.lastTick = ns
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// serve is the connection's first reader goroutine: authentication (a
// blocking read bounded by AuthTimeout), then readLoop.
func (c *Conn) serve() {
	g := c.g
	g.hub.addConn(c)

	_ = c.nc.SetReadDeadline(time.Now().Add(g.cfg.AuthTimeout))
	var msg []byte
	var err error
	for msg == nil && err == nil {
		msg, err = c.readMessage()
	}
	if err != nil {
		c.endRead(err, "no auth frame")
		c.finish()
		return
	}
	// Everything beyond reading runs on c.run's goroutine, so that the
	// reader's stack stays as small as the blocked read needs.
	authed := false
	c.run(func() {
		f, derr := DecodeClientFrame(msg)
		if derr == nil && f.Type != OpAuth {
			derr = parley.Errorf(parley.CodeUnauthenticated, "the first frame must be {\"type\":\"auth\",\"token\":…}")
		}
		if derr != nil {
			c.fail(f.Ref, derr, string(parley.CodeUnauthenticated))
			return
		}
		authed = c.authenticate(f)
	})
	if !authed {
		c.drain()
		c.finish()
		return
	}
	c.authed = true
	if g.poll != nil && c.raw != nil {
		// A polled reader parks when drained: read on a worker whose stack
		// has already grown (stacks.go); this goroutine, which only waited
		// for the auth frame, ends.
		g.stacks.do(c.startReading)
		return
	}
	c.startReading()
}

// startReading ends the auth phase's read deadline (a polled reader's raw
// reads would fail once it passed; blocking reads set their own) and runs
// the read loop.
func (c *Conn) startReading() {
	_ = c.nc.SetReadDeadline(time.Time{})
	c.lastRead.Store(time.Now().UnixNano())
	c.readLoop()
}

// readLoop reads and handles client frames while input is available. A
// polled connection reads with non-blocking syscalls and handles frames on
// this goroutine; when the socket is drained the connection is parked in
// the gateway's poller and the goroutine ends (the poller starts a new one
// on input). Without a poller it waits in a blocking read and handles each
// frame on a short-lived goroutine (see run). Idle peers are found by the
// heartbeat loop (parked) or the read deadline (blocking): nothing for two
// ping intervals. Exactly one readLoop runs per connection at a time; the
// one that sees the connection end calls finish.
func (c *Conn) readLoop() {
	g := c.g
	idle := 2 * g.cfg.PingInterval
	polled := g.poll != nil && c.raw != nil
	for {
		msg, ok, err := c.nextMessage()
		if err != nil {
			c.releaseInput()
			c.endRead(err, "")
			c.finish()
			return
		}
		if ok {
			c.lastRead.Store(time.Now().UnixNano())
			if msg == nil || c.isClosed() {
				continue // a control frame; or closing: discard until the peer's close or the grace deadline
			}
			if polled {
				c.call(func() { c.process(msg) })
			} else {
				c.run(func() { c.process(msg) })
			}
			continue
		}
		if polled {
			if !c.drained {
				err = c.fill(false)
				if err == nil {
					continue
				}
				if !errors.Is(err, errWouldBlock) {
					c.releaseInput()
					c.endRead(err, "")
					c.finish()
					return
				}
			}
			if c.park() {
				return
			}
			polled = false // cannot park: block instead
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		if err := c.fill(true); err != nil {
			c.releaseInput()
			c.endRead(err, "")
			c.finish()
			return
		}
	}
}

// park hands the connection to the poller and reports true, after which
// the caller must touch nothing of c; false if it cannot be parked.
func (c *Conn) park() bool {
	c.releaseInput()
	if c.isClosed() {
		c.drain()
		c.finish()
		return true
	}
	c.parked.Store(true)
	if err := c.g.poll.arm(c); err == nil {
		// A close that raced with parking: take the connection back
		// (unless the poller already did).
		if c.isClosed() && c.parked.CompareAndSwap(true, false) {
			c.drain()
			c.finish()
		}
		return true
	}
	// Not parked. A close path may have called resume meanwhile (a failed
	// write closes the socket, which is also why arm failed) and started a
	// reader of its own: then that reader owns c and this one must stop, or
	// two readers would finish c twice.
	if !c.parked.CompareAndSwap(true, false) {
		return true
	}
	return false
}

// resume starts a reader for a parked connection: on input (from the
// poller), or to finish a close.
func (c *Conn) resume() {
	if c.parked.CompareAndSwap(true, false) {
		c.drained = false // woken for input: read before parking again
		c.g.stacks.do(c.readLoop)
	}
}

// process rate-limits, decodes and answers one client frame: a send is
// started in the connection's pipeline (pipeline.go), anything else waits for
// the sends before it and is answered here.
func (c *Conn) process(msg []byte) {
	g := c.g
	if !c.allow(time.Now()) {
		c.strikes++
		if c.strikes >= g.cfg.FloodStrikes {
			c.closeWith(string(parley.CodeRateLimited), "too many frames")
			return
		}
		e := &parley.Error{Code: parley.CodeRateLimited, Message: "too many frames; slow down",
			RetryAfter: time.Duration(float64(time.Second) / g.cfg.OpsPerSecond)}
		c.waitSends(0) // answers keep frame order
		c.enqueue(opText, errorFrame(refOf(msg), e))
		return
	}
	c.strikes = 0
	f, err := DecodeClientFrame(msg)
	if err == nil && f.Type == OpSend {
		c.pipeSend(f)
		return
	}
	c.waitSends(0)
	if err != nil {
		c.enqueue(opText, errorFrame(f.Ref, err))
		return
	}
	c.handle(f)
}

// endRead turns a read failure into the right close.
func (c *Conn) endRead(err error, what string) {
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		c.closeWith(ce.reason, ce.text)
		c.drain()
	case errors.Is(err, errPeerClosed):
		c.drain()
	case errors.Is(err, os.ErrDeadlineExceeded):
		if what != "" {
			c.fail("", parley.Errorf(parley.CodeUnauthenticated, "%s within the auth timeout", what), string(parley.CodeUnauthenticated))
		} else {
			c.closeWith(ReasonHeartbeatTimeout, "no frames within two ping intervals")
		}
		c.drain()
	}
	// Anything else is a dead socket: teardown closes it.
}

// fail writes an error frame and closes with reason.
func (c *Conn) fail(ref string, err error, reason string) {
	c.enqueue(opText, errorFrame(ref, err))
	c.closeWith(reason, string(parley.ErrorCode(err)))
}

// drain discards input until the peer closes, giving it CloseGrace to read
// our close frame and answer.
func (c *Conn) drain() {
	_ = c.nc.SetReadDeadline(time.Now().Add(c.g.cfg.CloseGrace))
	var buf [512]byte
	for {
		if _, err := (*inbound)(c).Read(buf[:]); err != nil {
			return
		}
	}
}

// run calls fn on another goroutine (a worker of the gateway's stacks) and
// waits for it, so that fn's deep stack (JSON, the store) is not kept by
// the idle reader afterwards.
func (c *Conn) run(fn func()) {
	done := make(chan struct{})
	c.g.stacks.do(func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				c.g.log.Error("panic in websocket operation", "conn_id", c.ConnID(), "panic", v)
				c.closeWith(string(parley.CodeInternal), "internal error")
			}
		}()
		fn()
	})
	<-done
}

// call runs fn on this goroutine, turning a panic into an internal-error
// close as run does.
func (c *Conn) call(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			c.g.log.Error("panic in websocket operation", "conn_id", c.ConnID(), "panic", v)
			c.closeWith(string(parley.CodeInternal), "internal error")
		}
	}()
	fn()
}

// finish releases everything the connection holds. Runs once, on the last
// reader goroutine, as it exits.
func (c *Conn) finish() {
	c.endSends()
	c.teardown(c.authed)
	c.g.readers.Done()
}

func (c *Conn) teardown(authed bool) {
	g := c.g
	c.mu.Lock()
	c.closed = true
	clear(c.queue)
	c.queue, c.spare, c.pending, c.qbytes = nil, nil, nil, 0
	c.mu.Unlock()
	if g.poll != nil {
		g.poll.forget(c)
	}
	_ = c.nc.Close()
	c.unsubscribeAll()
	g.hub.removeConn(c)
	g.conns.Add(-1)
	if authed {
		g.hub.removeUser(c)
		g.metrics.AddConnections(-1)
		c.run(func() {
			ctx, cancel := context.WithTimeout(context.Background(), g.cfg.OpTimeout)
			defer cancel()
			if c.focused.Load() {
				_ = g.be.ReportFocus(ctx, c.actor, c.ConnID(), false)
			}
			g.be.Disconnected(ctx, c.actor)
		})
	}
}
