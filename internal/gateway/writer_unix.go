//go:build unix

package gateway

import (
	"errors"
	"syscall"
)

// rawConnOK reports whether non-blocking raw writes are implemented here.
const rawConnOK = true

// rawWrite is the syscall.RawConn callback of writeNB: write until done or
// the socket is full (EAGAIN), never waiting.
func (w *writer) rawWrite(fd uintptr) bool {
	for w.wn < len(w.wb) {
		m, e := syscall.Write(int(fd), w.wb[w.wn:])
		if m > 0 {
			w.wn += m
		}
		switch {
		case e == nil && m > 0, errors.Is(e, syscall.EINTR):
			continue
		case e == nil, errors.Is(e, syscall.EAGAIN):
		default:
			w.werr = e
		}
		return true
	}
	return true
}
