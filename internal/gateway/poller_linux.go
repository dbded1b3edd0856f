//go:build linux

package gateway

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
)

// poller parks idle connections in an epoll set instead of in blocked
// reader goroutines: a parked connection costs no goroutine stack. When the
// kernel reports input (or a hang-up) on a parked connection, the poller
// starts a reader goroutine for it, which reads while input is available and
// parks the connection again. Registrations are one-shot, so at most one
// reader runs per connection.
type poller struct {
	epfd   int
	wake   [2]int // a pipe in the epoll set (data 0) that interrupts EpollWait on close
	closed atomic.Bool
	done   chan struct{}

	mu    sync.Mutex
	conns map[uint64]*Conn // by Conn.id (the epoll event's data)
}

func newPoller() (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: fd, conns: map[uint64]*Conn{}, done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // data 0: connection ids start at 1
	if err := syscall.EpollCtl(fd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		_ = syscall.Close(fd)
		_ = syscall.Close(p.wake[0])
		_ = syscall.Close(p.wake[1])
		return nil, err
	}
	go p.run()
	return p, nil
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// arm registers (or re-arms) c for one input notification. It fails once
// forget ran: a close path may start a reader of c (resume) while the
// parking reader is still here, and that reader's forget must not be
// undone by a registration after it. arm and forget exclude each other
// through c.pollMu.
func (p *poller) arm(c *Conn) error {
	if p.closed.Load() {
		return errors.New("poller closed")
	}
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.id)), Pad: int32(uint32(c.id >> 32))} // #nosec G115 -- a 64-bit id split into two 32-bit halves on purpose
	// Once EpollCtl succeeds another reader may own c at once: touch
	// nothing of c after it but the unlock.
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if c.unpolled {
		return errors.New("connection closed")
	}
	var err error
	cerr := c.raw.Control(func(fd uintptr) {
		op := syscall.EPOLL_CTL_MOD
		if !c.polled {
			op = syscall.EPOLL_CTL_ADD
			c.polled = true
			p.mu.Lock()
			p.conns[c.id] = c
			p.mu.Unlock()
		}
		err = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
		if err != nil && op == syscall.EPOLL_CTL_ADD {
			c.polled = false
		}
	})
	if err == nil {
		err = cerr
	}
	return err
}

// forget removes c for good; call before closing its socket.
func (p *poller) forget(c *Conn) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	c.unpolled = true
	if !c.polled {
		return
	}
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
}

func (p *poller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	for !p.closed.Load() {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		for i := 0; i < n; i++ {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32 // #nosec G115 -- the two 32-bit halves joined back on purpose
			if id == 0 {
				continue // the wake pipe: the loop condition sees closed
			}
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				c.resume()
			}
		}
	}
}

func (p *poller) close() {
	if p.closed.Swap(true) {
		return
	}
	_, _ = syscall.Write(p.wake[1], []byte{1})
	<-p.done
	_ = syscall.Close(p.epfd)
	_ = syscall.Close(p.wake[0])
	_ = syscall.Close(p.wake[1])
}

// readNB reads into p with one non-blocking syscall: errWouldBlock if
// nothing is ready, (0, nil) at end of stream.
func (c *Conn) readNB(p []byte) (int, error) {
	var n int
	var err error
	rerr := c.raw.Read(func(fd uintptr) bool {
		for {
			n, err = syscall.Read(int(fd), p)
			if !errors.Is(err, syscall.EINTR) {
				return true
			}
		}
	})
	if errors.Is(err, syscall.EAGAIN) {
		return 0, errWouldBlock
	}
	if n < 0 {
		n = 0
	}
	if err == nil {
		err = rerr
	}
	return n, err
}
