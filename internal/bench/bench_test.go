package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestSchedTimesEvenlySpaced(t *testing.T) {
	const start, rate = int64(1_000_000_000), 1000.0
	for n := int64(0); n < 100; n++ {
		got := SchedTime(start, rate, n)
		want := start + (n+1)*1_000_000
		if got != want {
			t.Fatalf("SchedTime(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestPaceEmitsEveryMessageInOrder(t *testing.T) {
	s := NewStep(0, 2000, 100*time.Millisecond, 1)
	if s.Total != 200 {
		t.Fatalf("Total = %d, want 200", s.Total)
	}
	var ns, scheds []int64
	s.Pace(context.Background(), func(n, sched int64) {
		ns = append(ns, n)
		scheds = append(scheds, sched)
	})
	if int64(len(ns)) != s.Total || s.Emitted.Load() != s.Total {
		t.Fatalf("emitted %d (counter %d), want %d", len(ns), s.Emitted.Load(), s.Total)
	}
	for i, n := range ns {
		if n != int64(i) {
			t.Fatalf("message %d emitted as %d", i, n)
		}
		if want := SchedTime(s.StartNs(), s.Rate, n); scheds[i] != want {
			t.Fatalf("message %d scheduled at %d, want %d", i, scheds[i], want)
		}
	}
}

func TestPaceStopsOnCancel(t *testing.T) {
	s := NewStep(0, 10, time.Hour, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Pace(ctx, func(n, sched int64) {})
	if s.Emitted.Load() >= s.Total {
		t.Fatalf("a cancelled step emitted everything")
	}
}

func TestHistQuantiles(t *testing.T) {
	h := NewHist()
	for i := 1; i <= 1000; i++ {
		h.RecordNs(i, int64(i)*int64(time.Millisecond)) // 1…1000 ms over many shards
	}
	q := h.Summary()
	if q.Count != 1000 {
		t.Fatalf("count %d", q.Count)
	}
	near := func(name string, got, want float64) {
		if got < want*0.99 || got > want*1.01 {
			t.Errorf("%s = %.2f ms, want ≈ %.0f", name, got, want)
		}
	}
	near("p50", q.P50, 500)
	near("p90", q.P90, 900)
	near("p99", q.P99, 990)
	near("p99.9", q.P999, 999)
	near("max", q.Max, 1000)
	if (NewHist().Summary() != Quantiles{}) {
		t.Errorf("empty histogram has quantiles")
	}
	h2 := NewHist()
	h2.RecordNs(0, -5)                                      // clock skew: clamped to 1 µs
	h2.RecordNs(0, int64(time.Hour))                        // clamped to the maximum
	if q := h2.Summary(); q.Count != 2 || q.Max < 500_000 { // ≈ 600 s
		t.Errorf("clamping: %+v", q)
	}
}

func TestAccountingLostAndDuplicated(t *testing.T) {
	s := NewStep(0, 100, 100*time.Millisecond, 3) // 10 messages, 3 receivers each
	for n := int64(0); n < 10; n++ {
		if n != 9 { // message 9 is never acked: owes nothing
			s.MarkAck(0, n, 0, 1000)
		}
	}
	s.MarkAck(0, 0, 0, 2000) // a repeated ack counts once
	if s.Acked.Load() != 9 || s.Expected() != 27 {
		t.Fatalf("acked %d expected %d", s.Acked.Load(), s.Expected())
	}
	// Every acked message reaches all 3 receivers except: message 2 reaches
	// 1 (2 lost), message 5 reaches none (3 lost). Message 9 (unacked) is
	// delivered once anyway. Two duplicates.
	for n := int64(0); n < 10; n++ {
		k := 3
		switch n {
		case 2:
			k = 1
		case 5:
			k = 0
		case 9:
			k = 1
		}
		for r := 0; r < k; r++ {
			s.MarkDelivered(r, n, 0, 0, int64(1000+r*10))
		}
	}
	s.MarkDuplicate()
	s.MarkDuplicate()
	s.MarkDelivered(0, 99, 0, 0, 1) // not a message of this step
	if got := s.Lost(); got != 5 {
		t.Errorf("Lost = %d, want 5", got)
	}
	if s.Duplicated.Load() != 2 || s.Stray.Load() != 1 {
		t.Errorf("duplicated %d stray %d", s.Duplicated.Load(), s.Stray.Load())
	}
	if s.Delivered.Load() != 3*7+1+1 {
		t.Errorf("delivered %d", s.Delivered.Load())
	}
	s.computeSpread()
	if q := s.Spread.Summary(); q.Count != 7 || q.Max > 0.021 { // first→last is 20 ns… clamped to 1 µs
		t.Errorf("spread %+v", q)
	}
}

func TestSummarizeFlags(t *testing.T) {
	r := &runner{cfg: Defaults()}
	s := NewStep(0, 100, 100*time.Millisecond, 1)
	for n := int64(0); n < s.Total; n++ {
		s.MarkSent(int64(n))
		s.MarkAck(0, n, 0, int64(time.Millisecond))
		s.MarkDelivered(0, n, 0, 0, int64(2*time.Millisecond))
	}
	res := r.summarize(s, ProcSample{}, ProcSample{}, ProcSample{}, ProcSample{})
	if !res.WithinSLO || res.Saturated || res.Lost != 0 {
		t.Fatalf("clean step: %+v", res)
	}
	s2 := NewStep(1, 100, 100*time.Millisecond, 1)
	for n := int64(0); n < s2.Total; n++ {
		s2.MarkSent(int64(n))
		s2.MarkAck(0, n, 0, int64(time.Millisecond))
	}
	res = r.summarize(s2, ProcSample{}, ProcSample{}, ProcSample{}, ProcSample{})
	if res.WithinSLO || !res.Saturated || res.Lost != s2.Total {
		t.Fatalf("lossy step: %+v", res)
	}
}

func TestBodyRoundTrip(t *testing.T) {
	b := appendBody(nil, 3, 12345, 1700000000123456789, 1700000000123999999)
	st, ok := parseBody(b)
	if !ok || st != (bodyStamp{Step: 3, N: 12345, Sched: 1700000000123456789, Written: 1700000000123999999}) {
		t.Fatalf("parseBody(%q) = %+v, %v", b, st, ok)
	}
	for _, bad := range []string{"", "hello", "pb1 ", "pb1 x 1 2 3", "pb1 1 2 3"} {
		if _, ok := parseBody([]byte(bad)); ok {
			t.Errorf("parseBody(%q) accepted", bad)
		}
	}
}

func TestParseFrame(t *testing.T) {
	body := string(appendBody(nil, 1, 7, 100, 200))
	msg := `{"type":"message","message":{"id":"01J","conversation_id":"c1","seq":42,"sender_id":"u1","client_msg_id":"x-1.7","kind":"user","body":"` + body + `","created_at":"2026-01-01T00:00:00Z"}}`
	f, ok := parseFrame([]byte(msg))
	if !ok || f.Type != "message" || string(f.Conv) != "c1" || f.Seq != 42 || string(f.Body) != body {
		t.Fatalf("message frame: %+v %v", f, ok)
	}
	ack := `{"type":"ack","ref":"1.7","message":{"id":"01J","conversation_id":"c1","seq":43,"body":"` + body + `"}}`
	if f, ok := parseFrame([]byte(ack)); !ok || f.Type != "ack" || f.Seq != 43 || string(f.Body) != body {
		t.Fatalf("ack frame: %+v %v", f, ok)
	}
	// Escapes in the body defeat the scanner and fall back to encoding/json.
	esc := `{"type":"message","message":{"conversation_id":"c1","seq":5,"body":"say \"hi\""}}`
	if f, ok := parseFrame([]byte(esc)); !ok || string(f.Body) != `say "hi"` || f.Seq != 5 {
		t.Fatalf("escaped frame: %+v %v", f, ok)
	}
	errf := `{"type":"error","ref":"2.9","error":{"code":"rate_limited","message":"slow down"}}`
	if f, ok := parseFrame([]byte(errf)); !ok || f.ErrCode != "rate_limited" || f.Ref != "2.9" {
		t.Fatalf("error frame: %+v %v", f, ok)
	}
	if _, ok := parseFrame([]byte(`not json`)); ok {
		t.Fatalf("garbage accepted")
	}
	send := appendSendFrame(nil, "1.7", "c1", "x-1.7", []byte(body))
	if !bytes.HasPrefix(send, []byte(`{"type":"send"`)) || !bytes.Contains(send, []byte(`"conversation_id":"c1"`)) {
		t.Fatalf("send frame %s", send)
	}
}

func TestParseRates(t *testing.T) {
	got, err := ParseRates("2k, 500,1.5k")
	if err != nil || len(got) != 3 || got[0] != 500 || got[1] != 1500 || got[2] != 2000 {
		t.Fatalf("ParseRates = %v, %v", got, err)
	}
	for _, bad := range []string{"", "x", "-1", "0"} {
		if _, err := ParseRates(bad); err == nil {
			t.Errorf("ParseRates(%q) accepted", bad)
		}
	}
}

func TestProcParsing(t *testing.T) {
	stat := []byte("1234 (my (odd) prog) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 1 0 100 0 0")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 4*time.Second {
		t.Fatalf("parseStatCPU = %v, %v", cpu, err)
	}
	if rss := parseStatusRSS([]byte("Name:\tx\nVmRSS:\t  12345 kB\nThreads: 3\n")); rss != 12345 {
		t.Fatalf("rss %d", rss)
	}
	self, err := ReadProc(os.Getpid())
	if err != nil || self.RSSKiB <= 0 || self.FDs <= 0 {
		t.Fatalf("ReadProc(self) = %+v, %v", self, err)
	}
	tcp := []byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 98765 1 0000000000000000 100 0 0 10 0\n" +
		"   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 11111 1 0000000000000000 100 0 0 10 0\n")
	if got := listenInodes(tcp, 8080); len(got) != 1 || got[0] != "98765" {
		t.Fatalf("listenInodes = %v", got)
	}
}

func TestWriteSVG(t *testing.T) {
	rep := &Report{Workload: "group", Commit: "abc123"}
	for i, rate := range []float64{1000, 2000, 4000} {
		rep.Steps = append(rep.Steps, StepResult{
			Step: i, OfferedRate: rate, Fanout: 100, DeliveryRate: rate * 99,
			Latency: Quantiles{Count: 10, P50: 0.5 * float64(i+1), P99: 3 * float64(i+1)},
		})
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, rep); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with the three series.
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	polylines := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 3 {
		t.Fatalf("%d polylines in\n%s", polylines, b.String())
	}
	if !strings.Contains(b.String(), "deliveries/s") {
		t.Errorf("fan-out chart does not name deliveries/s")
	}
	if err := WriteSVG(&b, &Report{}); err == nil {
		t.Errorf("empty report charted")
	}
}

func TestParseFrameDoesNotAllocate(t *testing.T) {
	body := string(appendBody(nil, 1, 7, 100, 200))
	msg := []byte(`{"type":"message","message":{"id":"01J","conversation_id":"c1","seq":42,"body":"` + body + `"}}`)
	m := seqMap{"c1": new(int64)}
	allocs := testing.AllocsPerRun(100, func() {
		f, _ := parseFrame(msg)
		st, _ := parseBody(f.Body)
		m.setB(f.Conv, f.Seq+st.N)
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations per message frame", allocs)
	}
}

func TestWSFramesRoundTrip(t *testing.T) {
	// A server-side frame (unmasked, 16-bit length) followed by a ping and a
	// fragmented message, read through readHeader/ReadFrame.
	var in bytes.Buffer
	big := bytes.Repeat([]byte("x"), 300)
	_ = ws.WriteFrame(&in, ws.NewTextFrame(big))
	_ = ws.WriteFrame(&in, ws.NewPingFrame([]byte("hb")))
	_ = ws.WriteFrame(&in, ws.Frame{Header: ws.Header{OpCode: ws.OpText, Length: 3}, Payload: []byte("abc")})
	_ = ws.WriteFrame(&in, ws.Frame{Header: ws.Header{Fin: true, OpCode: ws.OpContinuation, Length: 3}, Payload: []byte("def")})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := &WSConn{c: a, br: bufio.NewReader(&in)}
	got, err := w.ReadFrame()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("first frame: %d bytes, %v", len(got), err)
	}
	pong := make(chan ws.Frame, 1)
	go func() {
		var f ws.Frame
		h, err := ws.ReadHeader(b) // the pong the client wrote back
		if err == nil && h.Length <= 125 {
			f.Header, f.Payload = h, make([]byte, h.Length)
			if _, err := io.ReadFull(b, f.Payload); err == nil {
				ws.Cipher(f.Payload, h.Mask, 0)
			}
		}
		pong <- f
	}()
	got, err = w.ReadFrame()
	if err != nil || string(got) != "abcdef" {
		t.Fatalf("fragmented frame: %q, %v", got, err)
	}
	if f := <-pong; f.Header.OpCode != ws.OpPong || string(f.Payload) != "hb" || !f.Header.Masked {
		t.Fatalf("pong: %+v %q", f.Header, f.Payload)
	}
}
