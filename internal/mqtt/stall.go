package mqtt

import (
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
)

// A client that stops reading. mochi writes to a client holding the
// client's lock, and numbering a QoS 1 or 2 delivery to it takes that lock,
// with hook.mu held for the whole publish: one client whose writes make no
// progress would hold every MQTT delivery on the node until its write
// timed out (writeTimeout, 10 s). So before a delivery that takes the lock,
// the hook checks whether a write to the client is in progress: one that
// ends soon is waited for; one that has run for stallAfter marks the
// connection stalled, and the client's deliveries are skipped (left to a
// replay from the history, as a dropped one) until a write to it returns,
// which replays what it missed in order, or until the write times out and
// the connection ends (a persistent session replays on reconnect).
//
// A presence frame skipped meanwhile is resent on resume, as the user's
// current presence (the retained one). What is left: a write that starts
// between the check and mochi taking the lock still holds the publish for
// up to writeTimeout; edits and deletions skipped meanwhile are not resent
// (as for a client that was disconnected: a replay carries a message's
// current version).

// stallAfter is how long a write to a client may be in progress before the
// client counts as not reading. A healthy client's write returns in
// microseconds; one on a slow link may take longer and only has its
// messages come by replay.
const stallAfter = 50 * time.Millisecond

// gated returns cl's connection, nil for the broker's inline client.
func gated(cl *mochi.Client) *gatedConn {
	gc, _ := cl.Net.Conn.(*gatedConn)
	return gc
}

// stalled reports whether cl's connection is marked stalled.
func stalled(cl *mochi.Client) bool {
	gc := gated(cl)
	return gc != nil && gc.stalled.Load()
}

// lockFree waits until no write to cl is in progress and reports true, or
// reports false (marking the connection stalled) once a write has been in
// progress for stallAfter. Called with hook.mu held, before mochi takes
// cl's lock to number a delivery.
func lockFree(cl *mochi.Client) bool {
	gc := gated(cl)
	if gc == nil {
		return true
	}
	giveUp := time.Now().Add(stallAfter)
	for {
		if gc.stalled.Load() {
			return false
		}
		if cl.TryLock() {
			cl.Unlock()
			return true
		}
		now := time.Now()
		if began := gc.writing.Load(); began != 0 && now.Sub(time.Unix(0, began)) >= stallAfter || now.After(giveUp) {
			gc.stalled.Store(true)
			// The write may have returned before the mark (and found none to
			// clear): with no write in progress, nothing would clear it.
			if gc.writing.Load() == 0 && gc.stalled.CompareAndSwap(true, false) {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			return false
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// resumed is called (on its own goroutine) when a write to cl returned
// after cl was marked stalled: each conversation of its session that
// skipped a message meanwhile replays it.
func (h *hook) resumed(cl *mochi.Client) {
	defer h.wg.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.session(cl.ID)
	if s == nil || cl.Closed() || h.ctx.Err() != nil {
		return
	}
	if cur, ok := h.broker.Clients.Get(cl.ID); !ok || cur != cl {
		return
	}
	for conv, cs := range s.convs {
		if cs.stallSkipped {
			cs.stallSkipped = false
			h.startReplayLocked(s, conv, cs, 0)
		}
	}
	// The current presence again, to every subscriber of the topic (a
	// presence frame is a state: a second copy changes nothing). Not to
	// this session alone: mochi sends a new subscriber the retained frame
	// outside mu, and a delivery meant for one session could not be told
	// from it.
	s.missed.Range(func(k, _ any) bool {
		s.missed.Delete(k)
		topic := presenceTopic(k.(string))
		for _, pk := range h.broker.Topics.Messages(topic) {
			h.publishLocked(delivery{topic: topic}, pk.Payload, false)
		}
		return true
	})
}

// presenceDeliverable decides whether presence delivery d (of user
// id's presence) goes to client cl of session s: a frame skipped for a
// stalled connection is resent, as the current one, when it resumes.
// Usually with mu held; also for the retained frame mochi sends a new
// subscriber (outside mu) while a frame of the topic is being published.
func (h *hook) presenceDeliverable(cl *mochi.Client, s *session, d *delivery, id string) bool {
	if !h.numberable(cl, d) {
		s.missed.Store(id, struct{}{})
		return false
	}
	return true
}

// resume starts resumed unless the hook is stopping.
func (h *hook) resume(cl *mochi.Client) {
	if h.ctx.Err() != nil {
		return
	}
	h.wg.Add(1)
	go h.resumed(cl)
}
