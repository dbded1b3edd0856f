package postgres

import (
	"context"
	"hash/fnv"

	"github.com/parley-chat/parley/internal/groupcommit"
)

// Message lanes.
//
// Edits, deletions and reactions change one existing message and append
// nothing: they take no seq and no conversation row lock (the message row
// lock, SELECT … FOR UPDATE, orders them across nodes). So they do not go
// through the committer, where they would delay message appends and wait
// behind them; they run on lanes instead. A conversation always maps to the
// same lane, and a lane runs its ops one transaction at a time and calls
// their notify hooks in commit order — so the events about one message (and
// one conversation) are published in the order their changes committed.
// Different conversations proceed in parallel on different lanes.
const laneCount = 8

func (c *committer) startLanes() {
	c.lanes = make([]chan *op, laneCount)
	for i := range c.lanes {
		ch := make(chan *op, 256)
		c.lanes[i] = ch
		c.q.Go(func() {
			for {
				select {
				case o := <-ch:
					c.runFn(o)
					groupcommit.Finish(&o.Op)
				case <-c.q.Quit():
					return
				}
			}
		})
	}
}

// doMessage runs fn, a change of one message of conversationID, in its own
// transaction on the conversation's lane, then notify (if not nil).
func (s *Store) doMessage(ctx context.Context, conversationID string, fn func(*wtx) error, notify func()) error {
	h := fnv.New32a()
	_, _ = h.Write([]byte(conversationID))
	o := &op{fn: fn}
	o.Notify = notify
	return s.cm.q.SubmitTo(ctx, s.cm.lanes[h.Sum32()%laneCount], o)
}
