package gateway

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// startReader runs the authenticated read loop of a connection on
// server-side nc, as serve does after a successful auth, whose read
// deadline (the auth timeout) passes at once.
func startReader(g *Gateway, nc net.Conn) *Conn {
	c := attach(g, nc, "u")
	g.readers.Add(1)
	g.conns.Add(1)
	c.authed = false // no backend: teardown must not report a disconnect
	_ = nc.SetReadDeadline(time.Now().Add(time.Millisecond))
	go c.startReading()
	return c
}

func maskedFrame(op ws.OpCode, fin bool, p []byte) []byte {
	var b bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(p)), Masked: true, Mask: ws.NewMask()}
	q := append([]byte(nil), p...)
	ws.Cipher(q, h.Mask, 0)
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	b.Write(q)
	return b.Bytes()
}

// pongRefs collects the refs of pong frames a client receives.
func pongRefs(r *reader) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var refs []string
	for _, p := range r.got {
		var f struct{ Type, Ref string }
		if json.Unmarshal(p, &f) == nil && f.Type == "pong" {
			refs = append(refs, f.Ref)
		}
	}
	return refs
}

// TestReaderFrameBoundaries: frames split at every byte, several frames in
// one segment, fragmented messages and a frame larger than the pooled read
// buffer all arrive whole and in order through the polled reader, which
// parks between reads.
func TestReaderFrameBoundaries(t *testing.T) {
	g := New(nil, nil, nil, Config{MaxFrameBytes: 64 << 10})
	defer g.Close()
	if g.poll == nil {
		t.Skip("no poller on this platform")
	}
	s, cl := tcpPair(t, listen(t))
	defer cl.Close()
	startReader(g, s)
	r := readAll(cl, true)
	time.Sleep(5 * time.Millisecond) // past the auth phase's read deadline
	ping := func(ref string, pad int) []byte {
		return []byte(`{"type":"ping","ref":"` + ref + `"` + strings.Repeat(" ", pad) + `}`)
	}
	// 1: one byte at a time.
	for _, b := range maskedFrame(ws.OpText, true, ping("1", 0)) {
		if _, err := cl.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	// 2, 3: two frames in one write, with a control frame between them.
	two := append(maskedFrame(ws.OpText, true, ping("2", 0)), maskedFrame(ws.OpPing, true, []byte("x"))...)
	two = append(two, maskedFrame(ws.OpText, true, ping("3", 0))...)
	// 4: fragmented, with a ping inside.
	two = append(two, maskedFrame(ws.OpText, false, []byte(`{"type":"ping",`))...)
	two = append(two, maskedFrame(ws.OpPing, true, nil)...)
	two = append(two, maskedFrame(ws.OpContinuation, true, []byte(`"ref":"4"}`))...)
	if _, err := cl.Write(two); err != nil {
		t.Fatal(err)
	}
	// 5: 40 KB, larger than the pooled buffer, in uneven pieces.
	big := maskedFrame(ws.OpText, true, ping("5", 40<<10))
	for i := 0; i < len(big); i += 7001 {
		if _, err := cl.Write(big[i:min(i+7001, len(big))]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "five pongs", func() bool { return len(pongRefs(r)) == 5 })
	if got := strings.Join(pongRefs(r), ","); got != "1,2,3,4,5" {
		t.Fatalf("pongs for %s, want 1,2,3,4,5", got)
	}
}

// TestParkedReaderEndsOnPeerClose: a parked connection whose peer goes away
// is torn down (it must not be re-parked on the end of stream forever).
func TestParkedReaderEndsOnPeerClose(t *testing.T) {
	g := New(nil, nil, nil, Config{})
	defer g.Close()
	ln := listen(t)
	var clients []net.Conn
	for range 20 {
		s, cl := tcpPair(t, ln)
		startReader(g, s)
		clients = append(clients, cl)
	}
	waitFor(t, "20 connections", func() bool { return g.Connections() == 20 })
	for i, cl := range clients {
		if i%2 == 0 {
			if _, err := cl.Write(maskedFrame(ws.OpText, true, []byte(`{"type":"ping"}`))); err != nil {
				t.Fatal(err)
			}
		}
		cl.Close()
	}
	waitFor(t, "every connection torn down", func() bool { return g.Connections() == 0 })
}

// TestCorkHoldsFramesUntilUncork: frames queued while a send is in flight
// are not handed to a writer until the answer is queued, then leave
// together, in order.
func TestCorkHoldsFramesUntilUncork(t *testing.T) {
	g := New(nil, nil, nil, Config{})
	defer g.Close()
	s, cl := tcpPair(t, listen(t))
	defer cl.Close()
	c := attach(g, s, "u")
	r := readAll(cl, true)
	c.cork()
	c.enqueue(opText, []byte(`{"type":"message","seq":1}`))
	c.enqueue(opText, []byte(`{"type":"ack","seq":1}`))
	c.mu.Lock()
	scheduled, queued := c.scheduled, len(c.queue)
	c.mu.Unlock()
	if scheduled || queued != 2 {
		t.Fatalf("corked: scheduled=%v queued=%d, want false, 2", scheduled, queued)
	}
	c.uncork()
	waitFor(t, "two frames", func() bool { return r.frames.Load() == 2 })
	r.mu.Lock()
	defer r.mu.Unlock()
	if !strings.Contains(string(r.got[0]), "message") || !strings.Contains(string(r.got[1]), "ack") {
		t.Fatalf("frames out of order: %q", r.got)
	}
}
