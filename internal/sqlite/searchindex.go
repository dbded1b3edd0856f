package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
	sqlite3 "modernc.org/sqlite"
)

// IndexFileName is the search index's database file, next to FileName in
// the data directory. It holds derived data only: deleting it (with its
// -wal and -shm files) while no node runs makes the next start rebuild it.
const IndexFileName = "parley-search.db"

// The search index lives in its own database file (migration 0130 explains
// why), attached as "ix" to the read connections and to the indexer's
// connection. Its schema:
//
//   - ix.messages_fts: a contentless FTS5 table (trigram tokenizer, case and
//     diacritics folded) whose rowid is messages.rid; contentless_delete
//     lets an entry be removed by rowid alone, without the body it was
//     built from (which may be gone). It keeps no positions (detail=none:
//     about 30 % less CPU per indexed message than detail=full, whose
//     positions only served phrase queries), so a term longer than a
//     trigram is looked up as the AND of its trigrams and the rows found
//     are checked against the body (search.go, searchfold.go). An index
//     built with positions by an earlier version is rebuilt (openIndex).
//   - ix.search_index_state: indexed_rid (every live user message with rid
//     <= it has its current body in the index, except rids queued in
//     search_changes after applied_seq), applied_seq (how far the change
//     queue is applied) and owner (search_index_owner of the database the
//     index was built from).
//
// The index is written only by the indexer, in transactions on its own
// connection that write the index file and read the messages file, so it
// never takes the messages database's write lock. It runs with
// synchronous=NORMAL: a crash may lose its last transactions, never its
// consistency, and what it lost is redone from indexed_rid and applied_seq.
const indexSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS ix.messages_fts USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram remove_diacritics 1',
    detail = 'none'
);
CREATE TABLE IF NOT EXISTS ix.search_index_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    owner       TEXT NOT NULL,
    indexed_rid INTEGER NOT NULL,
    applied_seq INTEGER NOT NULL
);`

// The indexer wakes every indexInterval, and while work is waiting does it
// in transactions of at most indexChunk rows (new messages, or queued
// changes). It shares no lock with the committer. Each transaction makes
// one FTS5 segment that later merges rewrite, so fewer, larger ones cost
// less CPU per message (BenchmarkAppendIndexCost, docs/benchmarks.md); the
// interval bounds how many new rows a search scans instead (about a
// microsecond each). SearchMessages covers the rows the indexer has not
// reached yet by scanning them, so its results never depend on its progress.
var (
	indexInterval = 500 * time.Millisecond
	indexChunk    = int64(4000)
)

// indexAutomerge is FTS5's automerge setting for the index (stored in the
// index; FTS5's default is 4): how many segments of one level wait before
// they are merged into one of the next. Higher merges less often (less
// CPU per indexed message) and leaves more segments for a query to read.
var indexAutomerge = 8

// truncateAfter is how old an applied_seq must be before the queue rows up
// to it are removed: a search that read the index state earlier still
// treats them as pending (it scans their rows), so they must outlive any
// search transaction.
const truncateAfter = time.Minute

func init() {
	// parley_fold(s) is the case folding SearchMessages applies to rows the
	// index does not cover (Unicode lower case; the trigram tokenizer folds
	// the same way, and also removes diacritics).
	sqlite3.MustRegisterDeterministicScalarFunction("parley_fold", 1,
		func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			}
			return args[0], nil
		})
}

// attachConnector opens connections with dsn and runs stmts on each (ATTACH
// and its PRAGMAs) before database/sql hands it out.
type attachConnector struct {
	driver.Connector
	stmts []string
}

func (c attachConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite connection cannot exec")
	}
	for _, q := range c.stmts {
		if _, err := ex.ExecContext(ctx, q, nil); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return conn, nil
}

// openAttached returns a pool on the messages database (dsn) with the index
// file attached as ix, read-only when readOnly.
func (s *Store) openAttached(dsn string, readOnly bool) (*sql.DB, error) {
	inner, err := sqlite3.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	ixURI := "file:" + s.indexPath()
	stmts := []string{}
	if readOnly {
		stmts = append(stmts, `ATTACH DATABASE '`+sqlQuote(ixURI+"?mode=ro")+`' AS ix`)
	} else {
		stmts = append(stmts, `ATTACH DATABASE '`+sqlQuote(ixURI)+`' AS ix`,
			`PRAGMA ix.journal_mode = WAL`, `PRAGMA ix.synchronous = NORMAL`, `PRAGMA ix.cache_size = -32000`)
	}
	return sql.OpenDB(attachConnector{Connector: inner, stmts: stmts}), nil
}

func sqlQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

func (s *Store) indexPath() string { return filepath.Join(filepath.Dir(s.path), IndexFileName) }

// openIndex opens the indexer's connection (the messages database
// read-only, the index file attached read-write), creates the index if
// needed, and starts over with an empty one when the file belongs to
// another database. It runs before the read pool opens, which attaches the
// file read-only and so needs it to exist.
func (s *Store) openIndex(ctx context.Context, pragmas string) error {
	db, err := s.openAttached("file:"+s.path+"?mode=ro&"+pragmas, false)
	if err != nil {
		return parley.Unavailable(err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s.ixw = db
	var owner string
	if err := db.QueryRowContext(ctx, `SELECT owner FROM search_index_owner`).Scan(&owner); err != nil {
		return translate(err)
	}
	// An index an earlier version built with positions (detail=full) is
	// dropped and rebuilt: its queries are cut differently.
	var def string
	err = db.QueryRowContext(ctx, `SELECT sql FROM ix.sqlite_master WHERE name = 'messages_fts'`).Scan(&def)
	stale := err == nil && !strings.Contains(strings.ReplaceAll(strings.ToLower(def), " ", ""), "detail='none'")
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return translate(err)
	}
	if stale {
		// The state goes in the same transaction as the table: a start
		// that stops after it finds no state and rebuilds, never an
		// emptied table that the old indexed_rid says is complete.
		if err := s.ixTx(ctx, func(tx *sql.Tx) error {
			for _, q := range []string{`DELETE FROM ix.search_index_state`, `DROP TABLE ix.messages_fts`} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return parley.Unavailable(fmt.Errorf("search index %s: %w", s.indexPath(), err))
		}
		if afterIndexDrop != nil {
			if err := afterIndexDrop(); err != nil {
				return err
			}
		}
		// The old table's pages are free now; return them to the file
		// system (best effort: a failure leaves free pages the new index
		// reuses).
		_, _ = db.ExecContext(ctx, `VACUUM ix`)
	}
	if _, err := db.ExecContext(ctx, indexSchema); err != nil {
		return parley.Unavailable(fmt.Errorf("search index %s: %w", s.indexPath(), err))
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO ix.messages_fts (messages_fts, rank) VALUES ('automerge', ?)`, indexAutomerge); err != nil {
		return parley.Unavailable(fmt.Errorf("search index %s: %w", s.indexPath(), err))
	}
	var have string
	err = db.QueryRowContext(ctx, `SELECT owner FROM ix.search_index_state`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return translate(err)
	case have == owner: // never after dropping a stale index, which took the state with it
		return nil
	}
	// A new index, another database's, or one built without detail=none:
	// start from nothing. Every queued
	// change so far is covered by indexing from rid 0.
	return s.ixTx(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM search_changes`).Scan(&seq); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM ix.messages_fts`, `DELETE FROM ix.search_index_state`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ix.search_index_state (id, owner, indexed_rid, applied_seq)
			VALUES (1, ?, 0, ?)`, owner, seq)
		return err
	})
}

// afterIndexDrop, when set (tests), runs after openIndex dropped an index
// built with positions, and an error from it ends openIndex there: a start
// that stopped at that point.
var afterIndexDrop func() error

// ixTx runs fn in a transaction on the indexer's connection: a read
// snapshot of the messages database from its first read, and the index
// file's write lock from its first write.
func (s *Store) ixTx(ctx context.Context, fn func(*sql.Tx) error) error { return runTx(ctx, s.ixw, fn) }

type indexer struct {
	quit, done chan struct{}
	// mu serialises rounds (the background loop and IndexPending).
	mu sync.Mutex
	// applied remembers recent applied_seq values with when they were
	// reached, for truncating the queue truncateAfter later.
	applied []appliedMark
	trimmed int64
}

type appliedMark struct {
	seq int64
	at  time.Time
}

func (s *Store) startIndexer() {
	ix := &indexer{quit: make(chan struct{}), done: make(chan struct{})}
	s.index = ix
	go func() {
		defer close(ix.done)
		t := time.NewTicker(indexInterval)
		defer t.Stop()
		for {
			select {
			case <-ix.quit:
				return
			case <-t.C:
			}
			for {
				more, err := s.indexRound(context.Background())
				if err != nil || !more {
					break // errors: the rows stay covered by scanning; retried next tick
				}
				select {
				case <-ix.quit:
					return
				default:
				}
			}
			s.trimChanges(context.Background(), time.Now())
		}
	}()
}

func (s *Store) stopIndexer() {
	if s.index == nil || s.index.quit == nil {
		return
	}
	close(s.index.quit)
	<-s.index.done
	s.index.quit = nil
}

// IndexPending brings the search index up to date with every committed
// message and change (tests and benchmarks use it to reach a known state).
func (s *Store) IndexPending(ctx context.Context) error {
	for {
		more, err := s.indexRound(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// indexRound does one round of index work and reports whether more is
// waiting. It reads, in one read-only snapshot of both files, what the
// round needs (the messages' bodies included) and ends that snapshot before
// it writes the index, so that it never keeps the messages database's WAL
// from being checkpointed and restarted while FTS5 works. In that
// snapshot, in this order:
//
//  1. indexed_rid falls to max(rid) if the newest rows were deleted, so
//     that a rid the next message reuses is indexed as new;
//  2. up to indexChunk queued changes are read: each rid's entry is to be
//     removed and, if the rid is at most indexed_rid, re-derived from the
//     row's current state (a live user message with a body, or nothing);
//  3. only if the queue is drained, up to indexChunk new rows after
//     indexed_rid are read to be added.
//
// Then one write transaction on the index applies it and moves indexed_rid
// and applied_seq. Rounds are serialised (index.mu), and the indexer is the
// index's only writer, so the state read in the snapshot is still the
// index's when it is written.
func (s *Store) indexRound(ctx context.Context) (bool, error) {
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	type doc struct {
		rid  int64
		body string
	}
	var (
		indexed, applied, last int64
		remove                 []int64
		docs                   []doc
		more                   bool
	)
	readDocs := func(tx *sql.Tx, query string, args ...any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d doc
			if err := rows.Scan(&d.rid, &d.body); err != nil {
				return err
			}
			docs = append(docs, d)
		}
		return rows.Err()
	}
	err := func() error {
		tx, err := s.ixw.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // read-only
		if err := tx.QueryRowContext(ctx, `SELECT indexed_rid, applied_seq FROM ix.search_index_state`).Scan(&indexed, &applied); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rid), 0) FROM messages`).Scan(&last); err != nil {
			return err
		}
		indexed = min(indexed, last)
		rows, err := tx.QueryContext(ctx, `SELECT seq, rid FROM search_changes WHERE seq > ? ORDER BY seq LIMIT ?`, applied, indexChunk)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		n := int64(0)
		for rows.Next() {
			var rid int64
			if err := rows.Scan(&applied, &rid); err != nil {
				rows.Close()
				return err
			}
			n++
			if !seen[rid] {
				seen[rid] = true
				remove = append(remove, rid)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, rid := range remove {
			if rid > indexed {
				continue // added with the new rows
			}
			if err := readDocs(tx, `SELECT rid, body FROM messages
				WHERE rid = ? AND kind = 'user' AND body <> '' AND deleted = 0`, rid); err != nil {
				return err
			}
		}
		if n == indexChunk {
			more = true
		} else if to := min(last, indexed+indexChunk); to > indexed {
			if err := readDocs(tx, `SELECT rid, body FROM messages
				WHERE rid > ? AND rid <= ? AND kind = 'user' AND body <> '' AND deleted = 0`, indexed, to); err != nil {
				return err
			}
			indexed, more = to, to < last
		}
		return nil
	}()
	if err != nil {
		return false, translate(err)
	}
	err = s.ixTx(ctx, func(tx *sql.Tx) error {
		if len(remove) > 0 {
			del, err := tx.PrepareContext(ctx, `DELETE FROM ix.messages_fts WHERE rowid = ?`)
			if err != nil {
				return err
			}
			defer del.Close()
			for _, rid := range remove {
				if _, err := del.ExecContext(ctx, rid); err != nil {
					return err
				}
			}
		}
		if len(docs) > 0 {
			ins, err := tx.PrepareContext(ctx, `INSERT INTO ix.messages_fts (rowid, body) VALUES (?, ?)`)
			if err != nil {
				return err
			}
			defer ins.Close()
			for _, d := range docs {
				if _, err := ins.ExecContext(ctx, d.rid, d.body); err != nil {
					return err
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE ix.search_index_state SET indexed_rid = ?, applied_seq = ?`, indexed, applied)
		return err
	})
	if err == nil {
		ix := s.index
		if k := len(ix.applied); k == 0 || ix.applied[k-1].seq != applied {
			ix.applied = append(ix.applied, appliedMark{applied, time.Now()})
		}
	}
	return more, err
}

// trimChanges removes the queue rows applied at least truncateAfter ago, in
// a short transaction on the messages database's writer (edits and deletes
// are rare next to appends; this runs at most once a tick).
func (s *Store) trimChanges(ctx context.Context, now time.Time) {
	ix := s.index
	ix.mu.Lock()
	upTo := ix.trimmed
	i := 0
	for ; i < len(ix.applied) && now.Sub(ix.applied[i].at) >= truncateAfter; i++ {
		upTo = ix.applied[i].seq
	}
	ix.applied = ix.applied[i:]
	ix.mu.Unlock()
	if upTo <= ix.trimmed {
		return
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM search_changes WHERE seq <= ?`, upTo)
		return err
	})
	if err == nil {
		ix.trimmed = upTo
	}
}

// RemoveIndex deletes the search index file of the data directory dir and
// its WAL, so that the next Open rebuilds it. No node may run on dir.
func RemoveIndex(dir string) error {
	var errs []error
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(dir, IndexFileName+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
