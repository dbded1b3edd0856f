package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Resync over the socket, as docs/protocol.md "Resync" recommends: the
// ready frame lists last_seq per conversation; for every conversation past
// what the client holds, the client sends {"type":"history","after":<have>}
// on the same connection and applies the answer, repeating until last_seq.
//
// The accounting follows the protocol's rule so that "caught up" is honest:
// per conversation the client keeps have = the highest seq up to which it
// holds every message (conn.seqs). A message with seq == have+1 is applied;
// seq <= have is a duplicate (counted, dropped); seq > have+1 is held aside
// until the gap below it is filled from the history. A client is caught up
// when have reaches every conversation's target, so every missed message is
// held, once.

// resyncRef prefixes the refs of the generator's history requests.
const resyncRef = "rs"

// resyncState is one storm client's resync bookkeeping. answers is written
// by the reader goroutine (onFrame) and read by the client's resync
// goroutine; pending is guarded by conn.mu.
type resyncState struct {
	answers chan histAnswer
	pending map[string]map[int64]bool // conversation → live seqs above have+1
	dups    *atomic.Int64             // messages received again (shared by all clients)
	gaps    *atomic.Int64             // history answers that skipped a seq (shared)
}

// histAnswer is what one history answer did: how many messages were new.
type histAnswer struct {
	conv  string
	added int
	err   error
	retry bool // the server was busy (unavailable, rate_limited): ask again
}

func newResyncState(c *conn, dups, gaps *atomic.Int64) *resyncState {
	// At most one request per conversation is in flight, so a buffer of
	// one answer per conversation never blocks the reader.
	return &resyncState{
		answers: make(chan histAnswer, len(c.ready.Conversations)+1),
		pending: map[string]map[int64]bool{},
		dups:    dups,
		gaps:    gaps,
	}
}

// applyLocked applies one message of conversation conv (c.mu held) and
// reports whether it was new.
func (s *resyncState) applyLocked(c *conn, conv string, seq int64) bool {
	have := c.seqs.get(conv)
	p := s.pending[conv]
	switch {
	case seq <= have || p[seq]:
		s.dups.Add(1)
		return false
	case seq > have+1:
		if p == nil {
			p = map[int64]bool{}
			s.pending[conv] = p
		}
		p[seq] = true
		return true
	}
	have = seq
	for p[have+1] {
		delete(p, have+1)
		have++
	}
	if len(p) == 0 {
		delete(s.pending, conv)
	}
	c.seqs.set(conv, have)
	return true
}

// want is how far conversation cv must be filled from the history: its
// last_seq at connect, or up to the newest live message held aside.
func (s *resyncState) wantLocked(conv string, lastSeq int64) int64 {
	w := lastSeq
	for seq := range s.pending[conv] {
		w = max(w, seq-1)
	}
	return w
}

// resyncMessage is onFrame's "message" case for a resyncing client.
func (r *runner) resyncMessage(c *conn, f inFrame) {
	c.mu.Lock()
	c.rs.applyLocked(c, string(f.Conv), f.Seq)
	c.mu.Unlock()
	if c.caught != nil {
		c.caught(c)
	}
}

// resyncHistory is onFrame's "history" case: it applies the page (oldest
// first) and hands the result to the resync goroutine.
func (r *runner) resyncHistory(c *conn, raw []byte) {
	var h struct {
		Ref            string `json:"ref"`
		ConversationID string `json:"conversation_id"`
		Messages       []struct {
			Seq int64 `json:"seq"`
		} `json:"messages"`
	}
	a := histAnswer{}
	if err := json.Unmarshal(raw, &h); err != nil {
		a.err = fmt.Errorf("history frame: %w", err)
	} else {
		a.conv = h.ConversationID
		c.mu.Lock()
		prev := int64(-1)
		for _, m := range h.Messages {
			if prev >= 0 && m.Seq != prev+1 {
				c.rs.gaps.Add(1)
			}
			prev = m.Seq
			if c.rs.applyLocked(c, h.ConversationID, m.Seq) {
				a.added++
			}
		}
		c.mu.Unlock()
	}
	r.resyncAnswer(c, a)
	if c.caught != nil {
		c.caught(c)
	}
}

// resyncReady applies the missed messages the ready frame carried (the
// auth frame's since), oldest first per conversation, before the client
// asks for anything.
func (r *runner) resyncReady(c *conn) {
	c.mu.Lock()
	prev := map[string]int64{}
	for _, m := range c.ready.Messages {
		if p, ok := prev[m.ConversationID]; ok && m.Seq != p+1 {
			c.rs.gaps.Add(1)
		}
		prev[m.ConversationID] = m.Seq
		c.rs.applyLocked(c, m.ConversationID, m.Seq)
	}
	c.ready.Messages = nil
	c.mu.Unlock()
}

// resyncError is onFrame's "error" case for an answer to a history request.
func (r *runner) resyncError(c *conn, f inFrame) bool {
	if c.rs == nil || !strings.HasPrefix(f.Ref, resyncRef) {
		return false
	}
	r.resyncAnswer(c, histAnswer{err: fmt.Errorf("history refused: %s", f.ErrCode),
		retry: f.ErrCode == "unavailable" || f.ErrCode == "rate_limited"})
	return true
}

func (r *runner) resyncAnswer(c *conn, a histAnswer) {
	select {
	case c.rs.answers <- a:
	default: // an answer nobody asked for
		r.countErr("unexpected_history")
	}
}

// resyncSocket is the client's side of step 2: one history request per
// conversation behind (pipelined on the socket), then again with the new
// have until every conversation has reached its last_seq.
func (r *runner) resyncSocket(ctx context.Context, c *conn) error {
	buf := make([]byte, 0, 160)
	n, busy := 0, 0
	for {
		type behind struct {
			id   string
			have int64
		}
		var todo []behind
		c.mu.Lock()
		for _, cv := range c.ready.Conversations {
			if have := c.seqs.get(cv.ConversationID); have < c.rs.wantLocked(cv.ConversationID, cv.LastSeq) {
				todo = append(todo, behind{cv.ConversationID, have})
			}
		}
		c.mu.Unlock()
		if len(todo) == 0 {
			return nil
		}
		for _, b := range todo {
			n++
			buf = appendHistoryFrame(buf[:0], resyncRef+strconv.Itoa(n), b.id, b.have, 100)
			if err := c.ws.WriteText(buf); err != nil {
				return err
			}
		}
		progress, retry := 0, false
		timeout := time.NewTimer(30 * time.Second)
		for range todo {
			select {
			case a := <-c.rs.answers:
				if a.err != nil && (!a.retry || busy >= 10) {
					timeout.Stop()
					return a.err
				}
				retry = retry || a.retry
				progress += a.added
			case <-c.done:
				timeout.Stop()
				return fmt.Errorf("connection closed during resync: %v", c.err)
			case <-ctx.Done():
				timeout.Stop()
				return ctx.Err()
			case <-timeout.C:
				return fmt.Errorf("no history answer within 30 s")
			}
		}
		timeout.Stop()
		if retry {
			// As docs/protocol.md says for unavailable: back off, ask again.
			busy++
			time.Sleep(time.Duration(busy) * 100 * time.Millisecond)
			continue
		}
		if progress == 0 {
			return fmt.Errorf("history answers brought nothing new (%d conversations behind)", len(todo))
		}
	}
}

// appendHistoryFrame appends a history request for the messages after seq
// after in conversation conv (generator-made ASCII ids, no escapes needed).
func appendHistoryFrame(b []byte, ref, conv string, after int64, limit int) []byte {
	b = append(b, `{"type":"history","ref":"`...)
	b = append(b, ref...)
	b = append(b, `","conversation_id":"`...)
	b = append(b, conv...)
	b = append(b, `","after":`...)
	b = strconv.AppendInt(b, after, 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, '}')
	return b
}
