package e2e_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bench"
	"github.com/parley-chat/parley/internal/server"
)

// BenchmarkCommitToReceipt measures issue 4's latency: from the moment the
// server publishes a message's event (after the durable commit) to the
// moment the receiver has read and decoded the frame. `parley bench dm`
// cannot show it, since its clock starts before the commit.
//
// Shape: P direct conversations, one sender and one receiver WebSocket per
// pair, messages sent open-loop at a fixed total rate, round-robin over the
// pairs; server and clients in this process, on the same cores.
//
// Clocks: one monotonic clock (the process's). The publish time is taken in
// the app's call to Bus.Publish, which the committer's notifier goroutine
// makes after the commit: the benchmark wraps the app's bus (c2rWrapAppBus)
// with one that notes the time and passes the event on unchanged. A tap
// subscribed to the bus next to the gateway notes when a subscriber
// goroutine gets the event (sub-lag-*: the bus hop the gateway also takes).
// A tap alone would understate the latency by that hop, which grows to tens
// of milliseconds when the process is saturated.
//
// One iteration is one window of -c2r.window (after a 1 s warm-up); run it
// with -benchtime 1x. It fails if any acked message is not delivered exactly
// once, in seq order, or not seen by the tap. Wall-clock figures are
// reported, never asserted.
func BenchmarkCommitToReceipt(b *testing.B) {
	for _, pairs := range []int{100, 1000} {
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) {
			h := startC2R(b, pairs)
			for _, rate := range c2rRates() {
				b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { h.bench(b, float64(rate)) })
			}
		})
	}
}

var (
	c2rWindow   = flag.Duration("c2r.window", 10*time.Second, "BenchmarkCommitToReceipt: length of one measured window")
	c2rRateList = flag.String("c2r.rates", "2000,5000,7000", "BenchmarkCommitToReceipt: offered rates (messages/s, comma-separated)")
)

func c2rRates() []int {
	var rs []int
	for _, f := range strings.Split(*c2rRateList, ",") {
		if r, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && r > 0 {
			rs = append(rs, r)
		}
	}
	return rs
}

// c2rBody is every message's body (about the size of a short chat line).
const c2rBody = "commit to receipt: a short chat line of about eighty characters, plain ASCII."

// c2r is one server with its pairs connected, reused by the rates.
type c2r struct {
	env       *apitest.Env
	base      time.Time // every timestamp is nanoseconds since base (monotonic)
	convs     []string
	senders   []*c2rConn
	receivers []*c2rConn
	tap       c2rTap
	window    atomic.Int64 // id of the current window, the prefix of every ref
}

func (h *c2r) now() int64 { return int64(time.Since(h.base)) }

// c2rConn is one client WebSocket; its reader goroutine appends to its
// records, which the harness collects between windows.
type c2rConn struct {
	ws   *bench.WSConn
	conv string // the pair's conversation
	done chan struct{}

	mu     sync.Mutex
	recvs  []c2rRecv // receiver: message frames
	acks   []c2rAck  // sender: acks
	errs   []string  // error frames, read errors
	nRecv  *atomic.Int64
	nAcked *atomic.Int64
}

type c2rRecv struct {
	conv string
	seq  int64
	t    int64
}

type c2rAck struct {
	n   int // index of the message in its window
	seq int64
	t   int64
}

// c2rTap records when message events are published (pub) and when they
// reach a bus subscriber (sub).
type c2rTap struct {
	mu   sync.Mutex
	pub  []c2rTapEvent
	sub  []c2rTapEvent
	nPub atomic.Int64
	nSub atomic.Int64
}

type c2rTapEvent struct {
	t     int64
	conv  string
	frame []byte // the event's frame (parsed after the window)
}

// c2rTimedBus is the app's bus with the publish time of every message event
// noted first; events pass on unchanged.
type c2rTimedBus struct {
	parley.Bus
	h *c2r
}

func (tb c2rTimedBus) Publish(ctx context.Context, e parley.Event) error {
	if e.Kind == parley.EventMessage {
		t := tb.h.now()
		tp := &tb.h.tap
		tp.mu.Lock()
		tp.pub = append(tp.pub, c2rTapEvent{t: t, conv: e.ConversationID, frame: e.Frame})
		tp.mu.Unlock()
		tp.nPub.Add(1)
	}
	return tb.Bus.Publish(ctx, e)
}

// c2rWrapAppBus replaces the bus a's use cases publish to with wrap(bus).
// The app does not offer this (production never needs it), so it sets the
// unexported field; it must run before any traffic (nothing publishes
// concurrently). A renamed field fails the benchmark here, not silently.
func c2rWrapAppBus(b *testing.B, a *app.App, wrap func(parley.Bus) parley.Bus) {
	b.Helper()
	v := reflect.ValueOf(a).Elem().FieldByName("bus")
	if !v.IsValid() || v.Type() != reflect.TypeFor[parley.Bus]() {
		b.Fatalf("app.App has no field bus of type parley.Bus: update c2rWrapAppBus")
	}
	f := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	f.Set(reflect.ValueOf(wrap(f.Interface().(parley.Bus))))
}

// c2rFrame is the part of a server frame the clients decode.
type c2rFrame struct {
	Type    string `json:"type"`
	Ref     string `json:"ref"`
	Message struct {
		ConversationID string `json:"conversation_id"`
		Seq            int64  `json:"seq"`
	} `json:"message"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func startC2R(b *testing.B, pairs int) *c2r {
	b.Helper()
	env := apitest.Start(b, func(c *server.Config) {
		c.LogLevel = "error"
		c.SendRate = 1e5 // one user sends up to rate/pairs per second
		c.WSFrameRate = 1e5
	})
	h := &c2r{env: env, base: time.Now(), convs: make([]string, pairs),
		senders: make([]*c2rConn, pairs), receivers: make([]*c2rConn, pairs)}
	c2rWrapAppBus(b, env.Server.App, func(bus parley.Bus) parley.Bus { return c2rTimedBus{Bus: bus, h: h} })
	unsub, err := env.Server.Bus.Subscribe(h.tap.record(h))
	if err != nil {
		b.Fatalf("subscribe tap: %v", err)
	}
	b.Cleanup(unsub)

	t0 := time.Now()
	tokens := make([]string, 2*pairs)
	ids := make([]string, 2*pairs)
	c2rParallel(2*pairs, 4, func(i int) {
		c, u := env.NewUser(b, fmt.Sprintf("c2r%d", i))
		tokens[i], ids[i] = c.Token(), u.ID
	})
	c2rParallel(pairs, 4, func(i int) {
		c := env.Client(client.WithToken(tokens[2*i]))
		conv, _, err := c.CreateConversation(context.Background(), client.CreateConversationRequest{
			Kind: parley.KindDirect, MemberIDs: []string{ids[2*i+1]}})
		if err != nil {
			b.Errorf("create conversation %d: %v", i, err)
			return
		}
		h.convs[i] = conv.ID
	})
	if b.Failed() {
		b.FailNow()
	}
	var nRecv, nAcked atomic.Int64
	wsurl := strings.Replace(env.URL, "http://", "ws://", 1) + "/api/v1/ws"
	d := &bench.Dialer{Timeout: 10 * time.Second}
	conns := make([]*c2rConn, 2*pairs)
	c2rParallel(2*pairs, 8, func(i int) {
		c, err := c2rDial(d, wsurl, tokens[i])
		if err != nil {
			b.Errorf("connect %d: %v", i, err)
			return
		}
		c.conv, c.nRecv, c.nAcked = h.convs[i/2], &nRecv, &nAcked
		conns[i] = c
	})
	b.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				_ = c.ws.Close()
				<-c.done
			}
		}
	})
	if b.Failed() {
		b.FailNow()
	}
	for i := range pairs {
		h.senders[i], h.receivers[i] = conns[2*i], conns[2*i+1]
		go h.senders[i].read(h, false)
		go h.receivers[i].read(h, true)
	}
	time.Sleep(100 * time.Millisecond)
	h.tap.take() // events of the setup (if any) are not part of a window
	b.Logf("pairs=%d: %d users, %d conversations, %d sockets in %v", pairs, 2*pairs, pairs, 2*pairs,
		time.Since(t0).Round(time.Millisecond))
	return h
}

// c2rParallel calls fn(0…n-1) on conc goroutines.
func c2rParallel(n, conc int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// c2rDial opens an authenticated WebSocket and waits for ready.
func c2rDial(d *bench.Dialer, wsurl, token string) (*c2rConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := bench.DialWS(ctx, d, wsurl, 4096)
	if err != nil {
		return nil, err
	}
	auth, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	if err := w.WriteText(auth); err != nil {
		_ = w.Abort()
		return nil, err
	}
	_ = w.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		p, err := w.ReadFrame()
		if err != nil {
			_ = w.Abort()
			return nil, err
		}
		var f c2rFrame
		if err := json.Unmarshal(p, &f); err != nil {
			_ = w.Abort()
			return nil, err
		}
		switch f.Type {
		case "ready":
			_ = w.SetReadDeadline(time.Time{})
			return &c2rConn{ws: w, done: make(chan struct{})}, nil
		case "error":
			_ = w.Abort()
			return nil, fmt.Errorf("auth refused: %s", f.Error.Code)
		}
	}
}

// read is a connection's reader: the receiver records message frames (the
// time is taken after the frame is read and decoded), the sender its acks.
func (c *c2rConn) read(h *c2r, receiver bool) {
	defer close(c.done)
	for {
		p, err := c.ws.ReadFrame()
		if err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, "read: "+err.Error())
			c.mu.Unlock()
			return
		}
		var f c2rFrame
		if err := json.Unmarshal(p, &f); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, "bad frame: "+err.Error())
			c.mu.Unlock()
			continue
		}
		t := h.now()
		switch {
		case f.Type == string(parley.EventMessage) && receiver:
			c.mu.Lock()
			c.recvs = append(c.recvs, c2rRecv{conv: f.Message.ConversationID, seq: f.Message.Seq, t: t})
			c.mu.Unlock()
			c.nRecv.Add(1)
		case f.Type == "ack" && !receiver:
			w, n, ok := c2rParseRef(f.Ref)
			if !ok || w != h.window.Load() {
				c.mu.Lock()
				c.errs = append(c.errs, "ack with unexpected ref "+f.Ref)
				c.mu.Unlock()
				continue
			}
			c.mu.Lock()
			c.acks = append(c.acks, c2rAck{n: n, seq: f.Message.Seq, t: t})
			c.mu.Unlock()
			c.nAcked.Add(1)
		case f.Type == "error":
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Sprintf("error frame ref %s: %s", f.Ref, f.Error.Code))
			c.mu.Unlock()
		}
	}
}

// take returns and clears the connection's records.
func (c *c2rConn) take() (recvs []c2rRecv, acks []c2rAck, errs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	recvs, acks, errs = c.recvs, c.acks, c.errs
	c.recvs, c.acks, c.errs = nil, nil, nil
	return
}

func c2rParseRef(ref string) (window int64, n int, ok bool) {
	w, m, found := strings.Cut(ref, ".")
	if !found {
		return 0, 0, false
	}
	wi, err1 := strconv.ParseInt(w, 10, 64)
	ni, err2 := strconv.Atoi(m)
	return wi, ni, err1 == nil && err2 == nil
}

// record returns the tap's bus subscriber: it takes the time first and
// defers all parsing to the end of the window.
func (tp *c2rTap) record(h *c2r) func(parley.Event) {
	return func(e parley.Event) {
		if e.Kind != parley.EventMessage {
			return
		}
		t := h.now()
		tp.mu.Lock()
		tp.sub = append(tp.sub, c2rTapEvent{t: t, conv: e.ConversationID, frame: e.Frame})
		tp.mu.Unlock()
		tp.nSub.Add(1)
	}
}

func (tp *c2rTap) take() (pub, sub []c2rTapEvent) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	pub, sub = tp.pub, tp.sub
	tp.pub, tp.sub = nil, nil
	tp.nPub.Store(0)
	tp.nSub.Store(0)
	return
}

// c2rResult is what one window measured.
type c2rResult struct {
	sent, acked, delivered, lost, dups, disorder, untapped, errors int
	lat, ack, subLag, tapLat                                       []float64 // ms
	schedLagMax                                                    time.Duration
	elapsed                                                        time.Duration // first send → last receipt
	cpu                                                            time.Duration // process CPU (server and clients) during the window
	firstErr                                                       string
}

func (h *c2r) bench(b *testing.B, rate float64) {
	warm := h.runWindow(rate, time.Second)
	if msg := warm.failure(); msg != "" {
		b.Fatalf("warm-up: %s", msg)
	}
	b.ResetTimer()
	var all c2rResult
	for range b.N {
		r := h.runWindow(rate, *c2rWindow)
		all.merge(r)
	}
	b.StopTimer()
	if msg := all.failure(); msg != "" {
		b.Fatalf("%s", msg)
	}
	q := func(xs []float64, p float64) float64 {
		if len(xs) == 0 {
			return math.NaN()
		}
		return xs[min(len(xs)-1, int(p*float64(len(xs))))]
	}
	slices.Sort(all.lat)
	slices.Sort(all.ack)
	slices.Sort(all.subLag)
	slices.Sort(all.tapLat)
	b.ReportMetric(q(all.lat, 0), "min-ms")
	b.ReportMetric(q(all.lat, 0.50), "p50-ms")
	b.ReportMetric(q(all.lat, 0.90), "p90-ms")
	b.ReportMetric(q(all.lat, 0.99), "p99-ms")
	b.ReportMetric(q(all.lat, 1), "max-ms")
	b.ReportMetric(q(all.ack, 0.50), "ack-p50-ms")
	b.ReportMetric(q(all.ack, 0.99), "ack-p99-ms")
	b.ReportMetric(q(all.subLag, 0.50), "sub-lag-p50-ms")
	b.ReportMetric(q(all.subLag, 0.99), "sub-lag-p99-ms")
	b.ReportMetric(q(all.tapLat, 0.50), "tap-p50-ms")
	b.ReportMetric(q(all.tapLat, 0.99), "tap-p99-ms")
	b.ReportMetric(float64(all.delivered), "delivered")
	b.ReportMetric(float64(all.lost), "lost")
	b.ReportMetric(float64(all.delivered)/all.elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(all.schedLagMax)/1e6, "sched-lag-max-ms")
	b.ReportMetric(100*all.cpu.Seconds()/all.elapsed.Seconds(), "cpu-%")
}

func (r c2rResult) failure() string {
	switch {
	case r.errors > 0:
		return fmt.Sprintf("%d errors (first: %s)", r.errors, r.firstErr)
	case r.acked != r.sent:
		return fmt.Sprintf("%d of %d sends acked", r.acked, r.sent)
	case r.lost > 0 || r.dups > 0 || r.disorder > 0 || r.untapped > 0:
		return fmt.Sprintf("lost %d, duplicated %d, out of order %d, not seen by the tap %d (of %d acked)",
			r.lost, r.dups, r.disorder, r.untapped, r.acked)
	}
	return ""
}

func (r *c2rResult) merge(o c2rResult) {
	r.sent += o.sent
	r.acked += o.acked
	r.delivered += o.delivered
	r.lost += o.lost
	r.dups += o.dups
	r.disorder += o.disorder
	r.untapped += o.untapped
	if r.errors == 0 {
		r.firstErr = o.firstErr
	}
	r.errors += o.errors
	r.lat = append(r.lat, o.lat...)
	r.ack = append(r.ack, o.ack...)
	r.subLag = append(r.subLag, o.subLag...)
	r.tapLat = append(r.tapLat, o.tapLat...)
	r.schedLagMax = max(r.schedLagMax, o.schedLagMax)
	r.elapsed += o.elapsed
	r.cpu += o.cpu
}

// runWindow sends rate·d messages open-loop, waits until every one is acked
// and delivered (or 30 s pass), and matches the records.
func (h *c2r) runWindow(rate float64, d time.Duration) c2rResult {
	p := len(h.convs)
	total := int(rate * d.Seconds())
	win := h.window.Add(1)
	sendT := make([]int64, total) // written by this goroutine only
	nRecv, nAcked := h.receivers[0].nRecv, h.senders[0].nAcked
	nRecv.Store(0)
	nAcked.Store(0)

	cpu0 := c2rCPU()
	var res c2rResult
	buf := make([]byte, 0, 512)
	start := time.Now()
	startT := h.now()
	for n := 0; n < total; {
		due := min(total, int(time.Since(start).Seconds()*rate)+1)
		for ; n < due; n++ {
			i := n % p
			buf = append(buf[:0], `{"type":"send","ref":"`...)
			buf = strconv.AppendInt(buf, win, 10)
			buf = append(buf, '.')
			buf = strconv.AppendInt(buf, int64(n), 10)
			buf = append(buf, `","conversation_id":"`...)
			buf = append(buf, h.convs[i]...)
			buf = append(buf, `","client_msg_id":"c2r-`...)
			buf = strconv.AppendInt(buf, win, 10)
			buf = append(buf, '-')
			buf = strconv.AppendInt(buf, int64(n), 10)
			buf = append(buf, `","body":"`+c2rBody+`"}`...)
			sched := start.Add(time.Duration(float64(n) / rate * 1e9))
			res.schedLagMax = max(res.schedLagMax, time.Since(sched))
			sendT[n] = h.now()
			if err := h.senders[i].ws.WriteText(buf); err != nil {
				res.errors++
				if res.firstErr == "" {
					res.firstErr = "write: " + err.Error()
				}
			}
		}
		if n < total {
			time.Sleep(time.Until(start.Add(time.Duration(float64(n) / rate * 1e9))))
		}
	}
	// Drain: everything acked, delivered and tapped, or give up after 30 s.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) &&
		(nAcked.Load() < int64(total) || nRecv.Load() < int64(total) || h.tap.nSub.Load() < int64(total)) {
		time.Sleep(5 * time.Millisecond)
	}
	res.cpu = c2rCPU() - cpu0
	res.sent = total

	// Publish times by (conversation, seq).
	type key struct {
		conv string
		seq  int64
	}
	pubs, subs := h.tap.take()
	index := func(evs []c2rTapEvent) map[key]int64 {
		m := make(map[key]int64, len(evs))
		for _, e := range evs {
			var f c2rFrame
			if err := json.Unmarshal(e.frame, &f); err != nil {
				res.errors++
				res.firstErr = "tap: bad frame"
				continue
			}
			m[key{e.conv, f.Message.Seq}] = e.t
		}
		return m
	}
	pub, sub := index(pubs), index(subs)
	// Receipts by (conversation, seq), checking order per receiver.
	recv := make(map[key]int64, total)
	lastT := startT
	for _, c := range h.receivers {
		rs, _, errs := c.take()
		h.noteErrs(&res, errs)
		var last int64
		for _, r := range rs {
			if r.conv != c.conv {
				res.errors++
				res.firstErr = "message delivered to a non-member's socket"
			}
			if r.seq <= last {
				res.disorder++
			}
			last = r.seq
			k := key{r.conv, r.seq}
			if _, dup := recv[k]; dup {
				res.dups++
				continue
			}
			recv[k] = r.t
			lastT = max(lastT, r.t)
		}
	}
	seen := make([]bool, total)
	for i, c := range h.senders {
		_, acks, errs := c.take()
		h.noteErrs(&res, errs)
		for _, a := range acks {
			if a.n < 0 || a.n >= total || a.n%p != i || seen[a.n] {
				res.errors++
				res.firstErr = fmt.Sprintf("unexpected or duplicate ack for message %d", a.n)
				continue
			}
			seen[a.n] = true
			res.acked++
			res.ack = append(res.ack, float64(a.t-sendT[a.n])/1e6)
			k := key{c.conv, a.seq}
			rt, ok := recv[k]
			if !ok {
				res.lost++
				continue
			}
			res.delivered++
			pt, ok1 := pub[k]
			st, ok2 := sub[k]
			if !ok1 || !ok2 {
				res.untapped++
				continue
			}
			res.lat = append(res.lat, float64(rt-pt)/1e6)
			res.subLag = append(res.subLag, float64(st-pt)/1e6)
			res.tapLat = append(res.tapLat, float64(rt-st)/1e6)
		}
	}
	if extra := len(recv) - res.delivered; extra > 0 {
		res.errors++
		res.firstErr = fmt.Sprintf("%d messages delivered that no ack announced", extra)
	}
	res.elapsed = time.Duration(lastT - startT)
	return res
}

func (h *c2r) noteErrs(res *c2rResult, errs []string) {
	for _, e := range errs {
		if res.errors == 0 {
			res.firstErr = e
		}
		res.errors++
	}
}

// c2rCPU returns the process's user+system CPU time so far.
func c2rCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
