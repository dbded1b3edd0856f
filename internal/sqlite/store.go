// Package sqlite implements parley.Store on an embedded SQLite database (the
// pure-Go modernc.org/sqlite driver) in WAL mode.
//
// Durability: the database runs with synchronous=FULL, so a write that
// returned nil survives a process crash (kill -9) and an OS crash or power
// loss. Writes go through one connection; reads use a pool of connections
// that see the last committed state (WAL snapshot isolation).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parley-chat/parley"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ parley.Store = (*Store)(nil)

// Store is a parley.Store on one SQLite database file.
type Store struct {
	path  string
	write *sql.DB // exactly one connection: SQLite has one writer at a time
	read  *sql.DB // a pool of read-only connections
	lock  *os.File
	// rd are the hot read queries prepared on read (readstmt.go).
	rd readStmts
	// commit is the group committer of history writes (commit.go).
	commit *committer
	linger time.Duration // the committer's longest wait for more writes
	// index adds new messages to the search index (searchindex.go), in
	// its own database file through ixw (one connection).
	index *indexer
	ixw   *sql.DB
	// batches, if set, is told the size and duration of every batch.
	batches atomic.Pointer[func(ops int, d time.Duration)]
	// MemberWrites are AddMembers, RemoveMember and UpdateMember, by the
	// root's rules (member.go); set by Open.
	parley.MemberWrites
}

// ObserveBatches makes the committer report to fn the number of operations
// of every batch it takes (one transaction, one fsync) and how long the
// batch took, from BEGIN to the durable COMMIT. fn runs on the committer
// goroutine after the batch and must not block.
func (s *Store) ObserveBatches(fn func(ops int, d time.Duration)) { s.batches.Store(&fn) }

// FileName is the database file's name inside the data directory.
const FileName = "parley.db"

// Open opens (creating if needed) the database in dir, takes an exclusive
// lock on dir so that a second process cannot open it, and applies pending
// migrations. It returns CodeUnavailable if another process holds the lock.
func Open(ctx context.Context, dir string) (*Store, error) {
	return OpenWith(ctx, dir, Options{CommitLinger: DefaultCommitLinger})
}

// Options tunes a Store beyond Open's defaults.
type Options struct {
	// CommitLinger is the longest the committer waits after taking a small
	// batch while writes arrive concurrently and fast, so that one fsync
	// serves more of them (internal/groupcommit/linger.go); 0 never waits.
	CommitLinger time.Duration
}

// DefaultCommitLinger is Open's CommitLinger.
const DefaultCommitLinger = 2 * time.Millisecond

// OpenWith is Open with opts.
func OpenWith(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, parley.Unavailable(fmt.Errorf("create data dir: %w", err))
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{path: filepath.Join(dir, FileName), lock: lock, linger: opts.CommitLinger}
	s.MemberWrites = s.runMembership
	if err := s.open(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=cache_size(-32000)&_pragma=temp_store(memory)"
	var err error
	s.write, err = sql.Open("sqlite", "file:"+s.path+"?_txlock=immediate&"+pragmas)
	if err != nil {
		return parley.Unavailable(err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.openIndex(ctx, pragmas); err != nil {
		return err
	}
	// Reads map the file (up to 2 GiB): pages come straight from the OS page
	// cache instead of being copied into each connection's cache, which
	// makes scans of rows spread over the file (search, history of a quiet
	// conversation) several times faster (docs/search.md).
	// Each has the search index attached read-only as ix.
	s.read, err = s.openAttached("file:"+s.path+"?mode=ro&"+pragmas+"&_pragma=mmap_size(2147483648)", true)
	if err != nil {
		return parley.Unavailable(err)
	}
	s.read.SetMaxOpenConns(8)
	s.read.SetMaxIdleConns(8)
	s.read.SetConnMaxIdleTime(0)
	s.read.SetConnMaxLifetime(0)
	if err := s.prepareReads(ctx); err != nil {
		return translate(err)
	}
	if err := s.startCommitter(); err != nil {
		return err
	}
	s.startIndexer()
	return nil
}

// Close closes the database and releases the directory lock.
func (s *Store) Close() error {
	var errs []error
	s.stopIndexer()
	s.stopCommitter()
	errs = append(errs, s.closeReads())
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.ixw != nil {
		errs = append(errs, s.ixw.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return translate(err)
	}
	return nil
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "parley.lock"), os.O_CREATE|os.O_RDWR, 0o600) // #nosec G304 -- the lock file in the operator's data dir
	if err != nil {
		return nil, parley.Unavailable(fmt.Errorf("open lock file: %w", err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, &parley.Error{Code: parley.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("data directory %s is in use by another Parley process; "+
				"several nodes need a shared PostgreSQL database (--db postgres://…)", dir)}
	}
	return f, nil
}

// migrate applies every embedded migration not yet recorded, in file-name
// order, each in its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return translate(err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return parley.Internal(err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		body, err := migrations.ReadFile(name)
		if err != nil {
			return parley.Internal(err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it. Errors
// returned by fn roll back and are passed through translate.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error { return runTx(ctx, s.write, fn) }

// runTx runs fn in a transaction on db and commits it. Errors returned by
// fn roll back and are passed through translate.
func runTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return translate(err)
	}
	if err := tx.Commit(); err != nil {
		return translate(err)
	}
	return nil
}

// translate maps driver errors to *parley.Error at the store's edge.
// *parley.Error values pass through unchanged.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pe *parley.Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, sql.ErrNoRows) {
		return parley.Errorf(parley.CodeNotFound, "not found")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &parley.Error{Code: parley.CodeUnavailable, Message: "request cancelled or timed out", Err: err}
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3lib.SQLITE_CONSTRAINT_UNIQUE, sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &parley.Error{Code: parley.CodeConflict, Message: "already exists", Err: err}
		case sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &parley.Error{Code: parley.CodeNotFound, Message: "referenced record not found", Err: err}
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_IOERR:
			return parley.Unavailable(err)
		}
	}
	return parley.Internal(err)
}

// millis and fromMillis convert times to the INTEGER (Unix milliseconds, UTC)
// representation every table uses.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
