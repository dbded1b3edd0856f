package xmpp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzStream feeds arbitrary bytes to the stream decoder: it must never
// panic, must end (EOF, a stream error or an I/O error) and must never
// return an element from input that is not well-formed.
func FuzzStream(f *testing.F) {
	hdr := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='d' version='1.0'>`
	f.Add([]byte(hdr + `<message to='a@d' type='chat' id='1'><body>hi &amp; bye</body></message></stream:stream>`))
	f.Add([]byte(hdr + `<iq type='get' id='x'><ping xmlns='urn:xmpp:ping'/></iq>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]>` + hdr))
	f.Add([]byte(hdr + `<message><body>&b;</body></message>`))
	f.Add([]byte(hdr + `<a><b><c></b></a>`))
	f.Add([]byte(hdr + `<!-- c --><?pi x?>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newReader(bytes.NewReader(data), 4096)
		if _, err := r.header(); err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			el, err := r.next()
			if err != nil {
				var se *streamError
				if !errors.Is(err, io.EOF) && !errors.Is(err, errStreamClosed) && !errors.As(err, &se) && !errors.Is(err, errTooLarge) {
					// Any other error must still be an error, never a panic.
					_ = err
				}
				return
			}
			if el == nil {
				t.Fatal("nil element without an error")
			}
		}
		t.Fatal("the decoder did not end")
	})
}
