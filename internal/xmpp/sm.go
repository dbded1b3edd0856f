package xmpp

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Stream management (XEP-0198) with resumption: the server counts the
// stanzas it sends and keeps each until the client acknowledges it; when a
// resumable session's transport breaks, the session stays alive (still
// subscribed, still queueing) for ResumeTimeout, and a client that resumes
// gets every unacknowledged stanza again, in order, then the rest.

// maxUnacked bounds the stanzas kept for a session; beyond it the session
// ends (its client catches up from the archive, XEP-0313).
const maxUnacked = 5000

type smState struct {
	enabled atomic.Bool
	mu      sync.Mutex
	resume  bool
	id      string
	out     uint32   // stanzas sent since enable
	unacked [][]byte // the last len(unacked) of them, not yet acknowledged
	in      uint32   // stanzas received and handled since enable
	over    bool     // unacked overflowed
	timer   *time.Timer
}

// sent records one outbound stanza.
func (m *smState) sent(b []byte, _ bool) {
	if !m.enabled.Load() {
		return
	}
	m.mu.Lock()
	m.out++
	if len(m.unacked) >= maxUnacked {
		m.over = true
	} else {
		m.unacked = append(m.unacked, append([]byte(nil), b...))
	}
	m.mu.Unlock()
}

// ack applies the client's count h of stanzas it has handled.
func (m *smState) ack(h uint32) {
	m.mu.Lock()
	// How many of unacked are now acknowledged. XEP-0198 counters wrap
	// modulo 2^32, so the arithmetic is uint32 on purpose; len(unacked) is
	// at most maxUnacked.
	n := int(uint32(len(m.unacked)) - (m.out - h)) // #nosec G115 -- bounded by maxUnacked; wrap-around intended
	if n > 0 && n <= len(m.unacked) {
		m.unacked = append(m.unacked[:0:0], m.unacked[n:]...)
	}
	m.mu.Unlock()
}

func (m *smState) resumable() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.enabled.Load() && m.resume && !m.over
}

// resumeTable holds the sessions that may be resumed, by stream id.
type resumeTable struct {
	s  *Server
	mu sync.Mutex
	m  map[string]*conn
}

func newResumeTable(s *Server) *resumeTable { return &resumeTable{s: s, m: map[string]*conn{}} }

func (t *resumeTable) add(c *conn) {
	t.mu.Lock()
	t.m[c.sm.id] = c
	t.mu.Unlock()
}

func (t *resumeTable) forget(c *conn) {
	t.mu.Lock()
	if c.sm.id != "" && t.m[c.sm.id] == c {
		delete(t.m, c.sm.id)
	}
	t.mu.Unlock()
}

func (t *resumeTable) take(id string) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *resumeTable) closeAll() {
	t.mu.Lock()
	var cs []*conn
	for _, c := range t.m {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	for _, c := range cs {
		c.end()
	}
}

// enable answers <enable/>: counting starts with the stanza after <enabled/>.
func (c *conn) enable(el *element) {
	if c.sm.enabled.Load() {
		c.send(smFailed("unexpected-request", "stream management is already enabled"), false)
		return
	}
	c.sm.mu.Lock()
	c.sm.resume = el.attr("resume") == "true" || el.attr("resume") == "1"
	c.sm.id = randomID()
	c.sm.mu.Unlock()
	var b xb
	if c.sm.resume {
		b.empty("enabled", "xmlns", nsSM, "id", c.sm.id, "resume", "true",
			"max", strconv.Itoa(int(c.s.cfg.ResumeTimeout.Seconds())))
		c.s.sm.add(c)
	} else {
		b.empty("enabled", "xmlns", nsSM)
	}
	select {
	case c.out <- outItem{raw: b.Bytes(), smEnable: true}:
	case <-c.done:
	}
}

func smFailed(cond, text string) []byte {
	var b xb
	b.open("failed", "xmlns", nsSM).empty(cond, "xmlns", nsStanzas)
	if text != "" {
		b.elem("text", text, "xmlns", nsStanzas)
	}
	return b.close("failed").Bytes()
}

// detach parks a resumable session whose transport broke.
func (c *conn) detach() {
	c.wmu.Lock()
	if c.nc != nil {
		_ = c.nc.Close()
	}
	c.nc, c.detached = nil, true
	c.wmu.Unlock()
	c.sm.mu.Lock()
	c.sm.timer = time.AfterFunc(c.s.cfg.ResumeTimeout, c.end)
	c.sm.mu.Unlock()
}

// resume moves the parked session named by <resume previd h/> onto c's
// transport and returns it, or answers <failed/> and returns nil.
func (c *conn) resume(el *element) *conn {
	old := c.s.sm.take(el.attr("previd"))
	h, err := strconv.ParseUint(el.attr("h"), 10, 32)
	if old == nil || err != nil || old.actor.UserID != c.actor.UserID {
		_ = c.writeNow(smFailed("item-not-found", "no such session to resume"))
		return nil
	}
	old.sm.mu.Lock()
	if old.sm.timer != nil && !old.sm.timer.Stop() {
		old.sm.mu.Unlock()
		_ = c.writeNow(smFailed("item-not-found", "the session expired"))
		return nil
	}
	old.sm.timer = nil
	old.sm.mu.Unlock()
	old.sm.ack(uint32(h))
	old.waitSends() // <resumed h/> counts durable messages only

	old.wmu.Lock()
	if !old.detached {
		// Still attached (the old transport has not noticed it is dead): cut it.
		if old.nc != nil {
			_ = old.nc.Close()
		}
	}
	c.wmu.Lock()
	old.nc, old.r, old.detached, old.addr = c.nc, c.r, false, c.addr
	c.nc = nil
	c.wmu.Unlock()
	old.sm.mu.Lock()
	var b xb
	b.empty("resumed", "xmlns", nsSM, "previd", old.sm.id, "h", strconv.FormatUint(uint64(old.sm.in), 10))
	for _, st := range old.sm.unacked {
		b.Write(st)
	}
	old.sm.mu.Unlock()
	_ = old.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, werr := old.nc.Write(b.Bytes())
	old.wmu.Unlock()
	if werr != nil {
		old.closeTransport()
	}
	return old
}

// smNonza handles <r/> and <a/>; it reports whether el was one.
func (c *conn) smNonza(el *element) bool {
	if el.XMLName.Space != nsSM {
		return false
	}
	switch el.XMLName.Local {
	case "enable":
		c.enable(el)
	case "r":
		if c.sm.enabled.Load() {
			c.waitSends() // h counts durable messages only
			c.sm.mu.Lock()
			in := c.sm.in
			c.sm.mu.Unlock()
			c.send([]byte("<a xmlns='"+nsSM+"' h='"+strconv.FormatUint(uint64(in), 10)+"'/>"), false)
		}
	case "a":
		if h, err := strconv.ParseUint(el.attr("h"), 10, 32); err == nil {
			c.sm.ack(uint32(h))
		}
	case "resume":
		c.send(smFailed("unexpected-request", "resume before binding a resource"), false)
	default:
		c.send(smFailed("feature-not-implemented", ""), false)
	}
	return true
}

// handled counts one inbound stanza for stream management.
func (c *conn) handled() {
	if c.sm.enabled.Load() {
		c.sm.mu.Lock()
		c.sm.in++
		c.sm.mu.Unlock()
	}
}
