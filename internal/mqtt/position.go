package mqtt

import (
	"context"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/parley-chat/parley"
)

// Persistent sessions across restarts and nodes.
//
// A persistent session (clean session false in 3.1.1, a session expiry
// interval in 5) saves its position in each conversation (app
// SavePositions): the highest seq the client acknowledged (QoS 1/2) or was
// handed (QoS 0). Positions are saved every saveEvery while they move, when
// the connection ends and when the server stops, and expire with the
// session. When a client connects to a node that does not have its session
// in memory (after a restart, or on another node), the positions are read
// back; re-subscribing to a conversation then replays everything after the
// saved position before live messages. A crash can lose the last
// saveEvery of positions: those messages are delivered again (at least
// once; drop duplicates by seq), never lost. A clean start forgets them.

const saveEvery = 2 * time.Second

// expiry is how long the session of CONNECT pk outlives its connection.
func (h *hook) expiry(pk packets.Packet) time.Duration {
	if pk.ProtocolVersion == 5 {
		if !pk.Properties.SessionExpiryIntervalFlag {
			return 0
		}
		return min(time.Duration(pk.Properties.SessionExpiryInterval)*time.Second, h.cfg.SessionExpiry)
	}
	if pk.Connect.Clean {
		return 0
	}
	return h.cfg.SessionExpiry
}

// restore prepares a session this node does not hold: a clean start
// forgets saved positions; a persistent one reads them back.
func (h *hook) restore(ctx context.Context, actor parley.Actor, s *session, clean bool, expiry time.Duration) error {
	pos, err := h.app.Positions(ctx, actor, s.id)
	if err != nil || len(pos) == 0 {
		return err
	}
	if clean || expiry == 0 {
		return h.app.ForgetPositions(ctx, actor, s.id)
	}
	s.stored = pos
	return nil
}

// save writes s's positions if they moved since the last save.
func (h *hook) save(ctx context.Context, s *session) {
	h.mu.Lock()
	if !s.dirty || s.expiry == 0 {
		h.mu.Unlock()
		return
	}
	pos := make(map[string]int64, len(s.convs))
	for conv, cs := range s.convs {
		if cs.acked > 0 {
			pos[conv] = cs.acked
		}
	}
	s.dirty = false
	expiry := s.expiry
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := h.app.SavePositions(ctx, *s.actor.Load(), s.id, pos, expiry); err != nil {
		h.mu.Lock()
		s.dirty = true // tried again at the next tick
		h.mu.Unlock()
		h.log.Warn("mqtt save positions", "client", s.id, "err", err)
	}
}

// saveAll saves every session whose positions moved.
func (h *hook) saveAll(ctx context.Context) {
	h.sessions.Range(func(_, v any) bool {
		h.save(ctx, v.(*session))
		return true
	})
}

// saver saves positions every saveEvery until stop, then once more.
func (h *hook) saver() {
	defer h.wg.Done()
	t := time.NewTicker(saveEvery)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			h.saveAll(context.Background())
			return
		case <-t.C:
			h.saveAll(h.ctx)
		}
	}
}
