package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Dialer opens TCP connections to the server, spreading them across
// 127.0.0.x source addresses when the server is on loopback, so one machine
// can hold tens of thousands of client sockets without exhausting the
// ephemeral ports of a single (source, destination) pair.
type Dialer struct {
	Sources int // number of 127.0.0.x source addresses (0: let the kernel pick)
	Timeout time.Duration
	next    atomic.Uint64
}

// DialContext dials addr ("host:port") over TCP.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.Timeout, KeepAlive: -1}
	if d.Sources > 0 && isLoopback(addr) {
		i := d.next.Add(1) % uint64(d.Sources)
		// 127.0.0.2 … 127.0.0.(1+Sources), capped at 254 addresses.
		ip := net.IPv4(127, 0, byte(1+i/254), byte(2+i%254)) // #nosec G115 -- i is bounded by the number of source addresses used (< 64,516)
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return nd.DialContext(ctx, network, addr)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && ip.To4() != nil
}

// WSConn is a minimal client WebSocket over gobwas/ws: text frames out
// (masked, one write call each), frames in with pings answered. Writes are
// serialised by a mutex; reads belong to one goroutine.
type WSConn struct {
	c    net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
	wbuf []byte
	rbuf []byte
}

// wsURL turns an http(s) base URL into the ws(s) URL of path.
func wsURL(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	return u.String(), nil
}

// DialWS opens a WebSocket to wsurl through d.
func DialWS(ctx context.Context, d *Dialer, wsurl string, readBuf int) (*WSConn, error) {
	wd := ws.Dialer{
		Timeout: d.Timeout,
		NetDial: d.DialContext,
		// Small handshake buffers: at tens of thousands of connections the
		// generator's own memory matters too.
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
	}
	c, br, _, err := wd.Dial(ctx, wsurl)
	if err != nil {
		return nil, err
	}
	w := &WSConn{c: c}
	if br != nil && br.Buffered() > 0 {
		// The server already sent frames after the handshake: keep reading
		// from the handshake buffer, which holds them.
		w.br = br
	} else {
		if br != nil {
			ws.PutReader(br)
		}
		w.br = bufio.NewReaderSize(c, readBuf)
	}
	return w, nil
}

// WriteText sends p as one masked text frame. p is not modified.
func (w *WSConn) WriteText(p []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.writeFrameLocked(ws.OpText, p)
}

func (w *WSConn) writeFrameLocked(op ws.OpCode, p []byte) error {
	h := ws.Header{Fin: true, OpCode: op, Masked: true, Mask: ws.NewMask(), Length: int64(len(p))}
	buf := bytes.NewBuffer(w.wbuf[:0])
	if err := ws.WriteHeader(buf, h); err != nil {
		return err
	}
	n := buf.Len()
	buf.Write(p)
	b := buf.Bytes()
	ws.Cipher(b[n:], h.Mask, 0)
	w.wbuf = b[:0]
	_, err := w.c.Write(b)
	return err
}

// ErrClosed is returned by ReadFrame after the server's close frame; Code
// holds the close status.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason) }

// ReadFrame returns the next text or binary message, answering pings and
// reassembling fragments. The returned slice is valid until the next call.
func (w *WSConn) ReadFrame() ([]byte, error) {
	msg := w.rbuf[:0]
	for {
		h, err := readHeader(w.br)
		if err != nil {
			return nil, err
		}
		if h.Length > 16<<20 {
			return nil, errors.New("frame too large")
		}
		if h.OpCode.IsControl() {
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(w.br, p); err != nil {
				return nil, err
			}
			if h.Masked {
				ws.Cipher(p, h.Mask, 0)
			}
			switch h.OpCode {
			case ws.OpPing:
				w.wmu.Lock()
				err := w.writeFrameLocked(ws.OpPong, p)
				w.wmu.Unlock()
				if err != nil {
					return nil, err
				}
			case ws.OpClose:
				ce := &CloseError{Code: 1005}
				if len(p) >= 2 {
					ce.Code = int(p[0])<<8 | int(p[1])
					ce.Reason = string(p[2:])
				}
				w.wmu.Lock()
				_ = w.writeFrameLocked(ws.OpClose, p[:min(2, len(p))])
				w.wmu.Unlock()
				return nil, ce
			}
			continue
		}
		off := len(msg)
		need := off + int(h.Length)
		if cap(msg) < need {
			nm := make([]byte, off, need+need/4)
			copy(nm, msg)
			msg = nm
		}
		msg = msg[:need]
		if _, err := io.ReadFull(w.br, msg[off:]); err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(msg[off:], h.Mask, 0)
		}
		if h.Fin {
			if cap(msg) <= 64<<10 {
				w.rbuf = msg[:0]
			}
			return msg, nil
		}
	}
}

// SetReadDeadline sets the deadline of the underlying socket.
func (w *WSConn) SetReadDeadline(t time.Time) error { return w.c.SetReadDeadline(t) }

// Close sends a normal close frame (best effort) and closes the socket.
func (w *WSConn) Close() error {
	w.wmu.Lock()
	_ = w.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_ = w.writeFrameLocked(ws.OpClose, []byte{0x03, 0xe8})
	w.wmu.Unlock()
	return w.c.Close()
}

// Abort closes the socket without a close frame, like a dropped network.
func (w *WSConn) Abort() error {
	if tc, ok := w.c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return w.c.Close()
}

// readHeader reads one frame header from br without allocating (unlike
// ws.ReadHeader).
func readHeader(br *bufio.Reader) (ws.Header, error) {
	var h ws.Header
	b0, err := br.ReadByte()
	if err != nil {
		return h, err
	}
	b1, err := br.ReadByte()
	if err != nil {
		return h, noEOF(err)
	}
	h.Fin = b0&0x80 != 0
	h.Rsv = (b0 >> 4) & 0x07
	h.OpCode = ws.OpCode(b0 & 0x0f)
	h.Masked = b1&0x80 != 0
	n := int64(b1 & 0x7f)
	ext := 0
	switch n {
	case 126:
		ext = 2
	case 127:
		ext = 8
	}
	if ext > 0 {
		n = 0
		for i := 0; i < ext; i++ {
			c, err := br.ReadByte()
			if err != nil {
				return h, noEOF(err)
			}
			n = n<<8 | int64(c)
		}
	}
	h.Length = n
	if h.Masked {
		for i := range h.Mask {
			c, err := br.ReadByte()
			if err != nil {
				return h, noEOF(err)
			}
			h.Mask[i] = c
		}
	}
	return h, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
