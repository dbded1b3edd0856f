package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/groupcommit"
)

// Group commit.
//
// Every write that appends to a conversation's history (messages, system
// messages) or that must be ordered with it (edits, deletions, reactions,
// membership changes) is an op submitted to one committer goroutine. The
// committer gathers the ops queued while the previous commit was syncing into
// one transaction — one fsync for the whole batch — and runs each op in
// submission order. Each op gets its own result: a failing op is rolled back
// to its savepoint (or never wrote anything, for appends) and the others
// commit. After the commit, a notifier goroutine calls the ops' notify hooks
// in commit order and only then wakes their callers, so hooks (event
// publication) run in seq order per conversation and before the ack.
//
// Seq assignment: the batch caches each touched conversation's last_seq, hands
// out last_seq+1, +2, … and writes the final value back before COMMIT. Since
// the committer is the only writer of last_seq and every batch is one
// transaction, seqs are gap-free in commit order. The committed states are
// kept across batches (committer.heads), so the steady state reads no
// conversation row at all: one INSERT per message and one UPDATE per touched
// conversation, all prepared.

const maxBatch = 1024

// lingerFill ends a lingering wait (Options.CommitLinger): the committer
// may wait after taking a small batch while ops arrive concurrently and
// fast (groupcommit/linger.go), so that one fsync and one set of rewritten
// pages serve many sends instead of a few. With the default 2 ms it cut the
// server's CPU per message by 6–15 % at 2,000–8,000 msg/s over 1,000 pairs
// for ~3 ms more median latency (docs/benchmarks.md); a lone client, or a
// slow trickle, never waits.
const lingerFill = 64

type op struct {
	groupcommit.Op
	fn        func(w *wtx) error
	savepoint bool // roll fn back on error (ops that write more than one statement)
}

type committer struct {
	stmts [numStmts]*sql.Stmt // prepared on the write connection
	q     *groupcommit.Queue[*op]

	// Checkpoints run on their own connection, off the commit path: the
	// write connection has wal_autocheckpoint off, and the committer kicks
	// the checkpointer every ckptEvery batches (and a ticker every second).
	//
	// That alone would let the WAL grow without bound under sustained
	// load: SQLite restarts the WAL from its beginning only when a write
	// transaction begins with every frame already checkpointed, and a
	// background checkpoint always lags the batch just committed. So when
	// the checkpointer reports more than restartFrames frames in the WAL,
	// the committer itself checkpoints between two batches (cheap: the
	// background checkpoints have copied all but the last few batches),
	// and the next batch restarts the WAL at its start instead of
	// appending. The WAL file then stays near restartFrames pages.
	ckpt      *sql.DB
	kick      chan struct{}
	ckptDone  chan struct{}
	batches   int
	walFrames atomic.Int64 // frames in the WAL at the last checkpoint
	// roles caches members' roles for the append check. Only the committer
	// goroutine touches it. Membership and roles change only through
	// committer ops, and each such op calls w.forgetRoles() before writing
	// (a failed commit clears it too); so a hit always matches the database.
	roles map[string]parley.MemberRole
	// heads caches conversations' committed convState across batches, so a
	// batch reads a conversation's row only on its first append after a
	// restart. Only the committer goroutine touches it; the committer is the
	// only writer of last_seq/last_at/last_user, and num and broadcast never change.
	// A batch's states are copied in after its commit succeeded; a failed
	// commit clears it.
	heads  map[string]convState
	nbatch atomic.Int64
}

const ckptEvery = 64

// restartFrames is the WAL size, in frames, past which the committer makes
// the WAL restart (32 MiB of 4 KiB pages). A variable for tests.
var restartFrames int64 = 8192

// convState is a conversation's state cached for one batch.
type convState struct {
	parley.AppendHead
	num   int64
	dirty bool
}

// The hot-path statements, prepared once (parsing costs more than running them).
const (
	stmtConv = iota
	stmtRole
	stmtInsert
	stmtBump
	numStmts
)

var stmtSQL = [numStmts]string{
	stmtConv: `SELECT c.num, h.last_seq, h.last_at, c.broadcast, h.last_user, h.last_user_at FROM conversations c
		JOIN conversation_heads h ON h.num = c.num WHERE c.id = ?`,
	stmtRole: `SELECT role FROM members WHERE conversation_id = ? AND user_id = ?`,
	stmtInsert: `INSERT INTO messages (conv, seq, id, sender_id, client_msg_id, kind, body, reply_to,
		mentions, system, created_at, attachments, e2ee) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
	stmtBump: `UPDATE conversation_heads SET last_seq = ?, last_at = max(last_at, ?), last_user = ?, last_user_at = ? WHERE num = ?`,
}

// The write transaction is the parley.MemberTx of the membership rules.
var _ parley.MemberTx = (*wtx)(nil)

// wtx is the write transaction of one batch.
type wtx struct {
	ctx     context.Context
	tx      *sql.Tx
	c       *committer
	stmts   [numStmts]*sql.Stmt // c.stmts bound to tx, on first use
	convs   map[string]*convState
	clients map[string]parley.Message // (sender, client_msg_id) appended in this batch
}

func (s *Store) startCommitter() error {
	c := &committer{}
	// No checkpoints on the commit path (see checkpointer); once the WAL has
	// been checkpointed and restarts, its file is cut back to 64 MiB.
	for _, p := range []string{`PRAGMA wal_autocheckpoint = 0`, `PRAGMA journal_size_limit = 67108864`} {
		if _, err := s.write.Exec(p); err != nil {
			return translate(err)
		}
	}
	ckpt, err := sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)")
	if err != nil {
		return parley.Unavailable(err)
	}
	ckpt.SetMaxOpenConns(1)
	c.ckpt, c.kick, c.ckptDone = ckpt, make(chan struct{}, 1), make(chan struct{})
	for i, q := range stmtSQL {
		st, err := s.write.Prepare(q)
		if err != nil {
			return translate(err)
		}
		c.stmts[i] = st
	}
	c.roles = make(map[string]parley.MemberRole)
	c.heads = make(map[string]convState)
	s.commit = c
	c.q = groupcommit.StartLinger(maxBatch, groupcommit.Linger{Max: s.linger, Fill: lingerFill}, func(batch []*op) []*op {
		t0 := time.Now()
		s.runBatch(batch)
		if fn := s.batches.Load(); fn != nil {
			(*fn)(len(batch), time.Since(t0))
		}
		return batch
	}, s.afterBatch)
	go c.checkpointer()
	return nil
}

// afterBatch is the checkpoint upkeep between two batches (see committer).
func (s *Store) afterBatch() {
	c := s.commit
	c.batches++
	c.nbatch.Store(int64(c.batches))
	if c.batches%ckptEvery == 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	if c.walFrames.Load() > restartFrames {
		c.walFrames.Store(0)
		if _, err := s.write.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			c.walFrames.Store(restartFrames + 1) // try again after the next batch
		}
	}
}

func (s *Store) stopCommitter() {
	if s.commit == nil {
		return
	}
	if s.commit.q != nil {
		s.commit.q.Close()
	}
	<-s.commit.ckptDone
	_ = s.commit.ckpt.Close()
	for _, st := range s.commit.stmts {
		if st != nil {
			_ = st.Close()
		}
	}
}

func (c *committer) batchCount() int { return int(c.nbatch.Load()) }

func (c *committer) checkpointer() {
	defer close(c.ckptDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-c.q.Quit():
			_, _ = c.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			return
		case <-c.kick:
		case <-t.C:
			if last == c.batchCount() {
				continue
			}
		}
		last = c.batchCount()
		var busy, frames, done int64
		if c.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done) == nil {
			c.walFrames.Store(frames)
		}
	}
}

const (
	maxCachedRoles = 1 << 17
	maxCachedHeads = 1 << 17
)

// role returns userID's role in conversationID, "" if not a member.
func (w *wtx) role(conversationID, userID string) (parley.MemberRole, error) {
	key := conversationID + "\x00" + userID
	if r, ok := w.c.roles[key]; ok {
		return r, nil
	}
	var r parley.MemberRole
	err := w.stmt(stmtRole).QueryRowContext(w.ctx, conversationID, userID).Scan(&r)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(w.c.roles) >= maxCachedRoles {
		clear(w.c.roles)
	}
	w.c.roles[key] = r
	return r, nil
}

// forgetRoles empties the role cache. Every op that inserts, deletes or
// changes the role of a members row must call it.
func (w *wtx) forgetRoles() { clear(w.c.roles) }

// stmt returns prepared statement i bound to the batch's transaction.
func (w *wtx) stmt(i int) *sql.Stmt {
	if w.stmts[i] == nil {
		w.stmts[i] = w.tx.StmtContext(w.ctx, w.c.stmts[i])
	}
	return w.stmts[i]
}

// submit runs fn inside the next batch and waits until the batch committed
// and notify (if non-nil, and fn succeeded) ran.
func (s *Store) submit(ctx context.Context, savepoint bool, fn func(w *wtx) error, notify func()) error {
	o := &op{fn: fn, savepoint: savepoint}
	o.Notify = notify
	return s.commit.q.Submit(ctx, o)
}

func (s *Store) runBatch(batch []*op) {
	fail := func(err error) {
		clear(s.commit.roles)
		clear(s.commit.heads)
		err = translate(err)
		for _, o := range batch {
			if o.Err == nil {
				o.Err = err
			}
		}
	}
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	w := &wtx{ctx: ctx, tx: tx, c: s.commit, convs: make(map[string]*convState), clients: make(map[string]parley.Message)}
	ok := 0
	for _, o := range batch {
		if err := o.Ctx.Err(); err != nil {
			o.Err = translate(err)
			continue
		}
		if !o.savepoint {
			if err := o.fn(w); err != nil {
				var abort *batchAbort
				if errors.As(err, &abort) {
					_ = tx.Rollback()
					fail(abort.err)
					return
				}
				o.Err = translate(err)
			} else {
				ok++
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			o.Err = translate(err)
			continue
		}
		saved := make(map[string]convState, len(w.convs))
		for k, v := range w.convs {
			saved[k] = *v
		}
		err := o.fn(w)
		if err != nil {
			o.Err = translate(err)
			_, _ = tx.ExecContext(ctx, "ROLLBACK TO op")
			w.convs = make(map[string]*convState, len(saved))
			for k, v := range saved {
				v := v
				w.convs[k] = &v
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if ok == 0 {
		_ = tx.Rollback()
		return
	}
	for _, cs := range w.convs {
		if !cs.dirty {
			continue
		}
		if _, err := w.stmt(stmtBump).ExecContext(ctx, cs.LastSeq, cs.LastAt, cs.LastUser, cs.LastUserAt, cs.num); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	heads := s.commit.heads
	if len(heads)+len(w.convs) > maxCachedHeads {
		clear(heads)
	}
	for id, cs := range w.convs {
		st := *cs
		st.dirty = false
		heads[id] = st
	}
}

// batchAbort is returned by an op without savepoint that failed after
// writing: the whole batch rolls back and every op in it fails with err.
type batchAbort struct{ err error }

func (e *batchAbort) Error() string { return e.err.Error() }

func abortBatch(err error) error { return &batchAbort{err} }

// conv returns the batch's cached state of a conversation, loading it on
// first use. CodeNotFound if it does not exist.
func (w *wtx) conv(id string) (*convState, error) {
	if cs, ok := w.convs[id]; ok {
		return cs, nil
	}
	if st, ok := w.c.heads[id]; ok {
		cs := &st
		w.convs[id] = cs
		return cs, nil
	}
	cs := &convState{}
	err := w.stmt(stmtConv).QueryRowContext(w.ctx, id).Scan(&cs.num, &cs.LastSeq, &cs.LastAt, &cs.Broadcast, &cs.LastUser, &cs.LastUserAt)
	if err == sql.ErrNoRows {
		return nil, parley.ErrConversationNotFound()
	}
	if err != nil {
		return nil, err
	}
	w.convs[id] = cs
	return cs, nil
}

// LockConversation implements parley.MemberTx: the committer is the only
// writer, so loading the head is enough.
func (w *wtx) LockConversation(id string) error {
	_, err := w.conv(id)
	return err
}
