package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/groupcommit"
)

// Group commit and ordering.
//
// Every write that appends to a conversation's history (messages, and the
// system messages of conversation and membership changes) is an op submitted
// to the Store's one committer goroutine (edits, deletions and reactions run
// on lanes instead: lane.go). The committer takes every op queued
// while it was busy (up to maxBatch) and runs:
//
//  1. all message appends of the batch together, set-based, in ONE
//     transaction costing two pipelined round trips (appendBatch in
//     message.go) whatever the number of messages;
//  2. then each other op in its own transaction, in submission order.
//
// After that, a notifier goroutine calls the ops' notify hooks in exactly
// that (commit) order and only then wakes their callers, so hooks — event
// publication — run in seq order per conversation and before the ack.
//
// Seq assignment across nodes: every transaction that appends to a
// conversation first locks its row (SELECT … FOR UPDATE; several rows in id
// order, so two nodes' batches never deadlock), reads last_seq, inserts
// last_seq+1, +2, … and writes the new last_seq back before COMMIT. Seqs are
// therefore gap-free in commit order across any number of nodes.
//
// Idempotency across nodes: (sender_id, client_msg_id) is UNIQUE. Under the
// row lock, a duplicate within the same conversation is always visible and
// answered with the earlier message; the rare race between two different
// conversations ends in a unique violation, which rolls the batch back and
// retries it (the retry sees the committed row).

const (
	maxBatch     = 2048             // ops taken into one batch
	batchTimeout = 30 * time.Second // bound on one batch's database work
	maxAttempts  = 4                // tries of a batch on a retryable error
)

type op struct {
	groupcommit.Op
	app *appendReq       // a message append, or
	fn  func(*wtx) error // any other write, in a transaction of its own
}

type committer struct {
	s       *Store
	q       *groupcommit.Queue[*op]
	lanes   []chan *op // see lane.go
	appends atomic.Int64
	batches atomic.Int64
}

// lingerFill ends a lingering wait (Options.CommitLinger). A batch's
// appends cost two round trips whatever their number, so a wait may fill
// more than SQLite's.
const lingerFill = 256

func newCommitter(s *Store, linger time.Duration) *committer {
	c := &committer{s: s}
	c.q = groupcommit.StartLinger(maxBatch, groupcommit.Linger{Max: linger, Fill: lingerFill}, func(batch []*op) []*op {
		t0 := time.Now()
		ordered := c.run(batch)
		if fn := c.s.batches.Load(); fn != nil {
			(*fn)(len(batch), time.Since(t0))
		}
		return ordered
	}, nil)
	c.startLanes()
	return c
}

// run executes one batch and returns its ops in commit order.
func (c *committer) run(batch []*op) []*op {
	ordered := make([]*op, 0, len(batch))
	var appends []*op
	for _, o := range batch {
		if o.app != nil {
			if err := o.Ctx.Err(); err != nil {
				o.Err = translate(err)
			} else {
				appends = append(appends, o)
			}
			ordered = append(ordered, o)
		}
	}
	if len(appends) > 0 {
		c.runAppends(appends)
	}
	for _, o := range batch {
		if o.fn != nil {
			c.runFn(o)
			ordered = append(ordered, o)
		}
	}
	return ordered
}

// runAppends commits appends as one transaction, retrying retryable
// failures. If the batch fails for a reason tied to one message (bad data
// the database refuses), each append is retried alone so that only the
// culprit fails.
func (c *committer) runAppends(ops []*op) {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		err = c.s.appendBatch(ctx, ops)
		cancel()
		if err == nil {
			c.batches.Add(1)
			for _, o := range ops {
				if o.Err == nil && o.app.created {
					c.appends.Add(1)
				}
			}
			return
		}
		if !retryable(err) {
			break
		}
		backoff(attempt)
	}
	if len(ops) > 1 && !connectionLost(err) && !isUnavailable(err) {
		for _, o := range ops {
			c.runAppends([]*op{o})
		}
		return
	}
	err = translate(err)
	for _, o := range ops {
		o.Err = err
		o.app.created = false
	}
}

// runFn runs one op in a transaction of its own.
func (c *committer) runFn(o *op) {
	if err := o.Ctx.Err(); err != nil {
		o.Err = translate(err)
		return
	}
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		err = pgx.BeginFunc(ctx, c.s.pool, func(tx pgx.Tx) error {
			w := &wtx{ctx: ctx, tx: tx, convs: make(map[string]*convState)}
			if err := o.fn(w); err != nil {
				return err
			}
			return w.flush()
		})
		cancel()
		if err == nil || !transient(err) {
			break
		}
		backoff(attempt)
	}
	o.Err = translate(err)
}

func backoff(attempt int) { time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond) }

// retryable reports errors after which running the same transaction again
// may succeed: serialization failures, deadlocks and unique violations
// (a concurrent node won a race the retry will see).
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01" || pg.Code == "23505"
	}
	return false
}

// transient reports serialization failures and deadlocks.
func transient(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

func isUnavailable(err error) bool {
	var pe *parley.Error
	return errors.As(err, &pe) && pe.Code == parley.CodeUnavailable
}

func (c *committer) close() { c.q.Close() }

// submit queues o for the committer and waits until it committed (or
// failed) and its notify ran.
func (s *Store) submit(ctx context.Context, o *op) error { return s.cm.q.Submit(ctx, o) }

// do runs fn in its own transaction through the committer and calls notify
// (if not nil) after the commit, in commit order.
func (s *Store) do(ctx context.Context, fn func(*wtx) error, notify func()) error {
	o := &op{fn: fn}
	o.Notify = notify
	return s.submit(ctx, o)
}

// convState is a conversation's row, locked for one transaction.
type convState struct {
	parley.AppendHead
	dirty bool
}

// The write transaction is the parley.MemberTx of the membership rules.
var _ parley.MemberTx = (*wtx)(nil)

// wtx is the transaction of one non-append op.
type wtx struct {
	ctx   context.Context
	tx    pgx.Tx
	convs map[string]*convState
}

// conv locks a conversation's row (first use only) and returns its state.
// CodeNotFound if it does not exist.
func (w *wtx) conv(id string) (*convState, error) {
	if cs, ok := w.convs[id]; ok {
		return cs, nil
	}
	cs := &convState{}
	err := w.tx.QueryRow(w.ctx, `SELECT last_seq, last_at, broadcast, last_user, last_user_at FROM conversations WHERE id = $1 FOR UPDATE`, id).
		Scan(&cs.LastSeq, &cs.LastAt, &cs.Broadcast, &cs.LastUser, &cs.LastUserAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, parley.ErrConversationNotFound()
	}
	if err != nil {
		return nil, err
	}
	w.convs[id] = cs
	return cs, nil
}

// flush writes the new last_seq/last_at of every conversation appended to.
func (w *wtx) flush() error {
	for id, cs := range w.convs {
		if !cs.dirty {
			continue
		}
		if _, err := w.tx.Exec(w.ctx, `UPDATE conversations SET last_seq = $2, last_at = GREATEST(last_at, $3), last_user = $4, last_user_at = $5 WHERE id = $1`,
			id, cs.LastSeq, cs.LastAt, cs.LastUser, cs.LastUserAt); err != nil {
			return err
		}
		cs.dirty = false
	}
	return nil
}

// LockConversation implements parley.MemberTx (SELECT … FOR UPDATE).
func (w *wtx) LockConversation(id string) error {
	_, err := w.conv(id)
	return err
}
