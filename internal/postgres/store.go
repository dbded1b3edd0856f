// Package postgres implements parley.Store on PostgreSQL (pgx v5 with a
// connection pool), for clusters of stateless Parley nodes sharing one
// database.
//
// Durability: a write that returned nil has been committed by PostgreSQL,
// which with its default settings (fsync=on, synchronous_commit=on) survives
// a crash of the Parley node, of PostgreSQL and of the machine.
//
// Concurrency: any number of Stores (nodes) may use one database at once.
// Message appends are batched by one committer per Store (see message.go);
// per-conversation seq assignment takes a row lock on the conversation, so
// seq stays gap-free across nodes.
//
// Errors: driver errors are translated at this package's edge (translate):
// unique violations become CodeConflict, a lost or refused connection
// CodeUnavailable. The pool drops broken connections and dials new ones, so
// the Store recovers by itself after PostgreSQL restarts.
//
// Times are stored as BIGINT Unix milliseconds (UTC), exactly as in the
// SQLite store, so both stores round times identically.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parley-chat/parley"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ parley.Store = (*Store)(nil)

// Store is a parley.Store on one PostgreSQL database (and schema: the URL may
// set search_path).
type Store struct {
	pool  *pgxpool.Pool
	trips atomic.Int64 // statements and pipelines sent (see Stats)
	cm    *committer   // batches message appends; see message.go
	// batches, if set, is told the size and duration of every batch.
	batches atomic.Pointer[func(ops int, d time.Duration)]
	// MemberWrites are AddMembers, RemoveMember and UpdateMember, by the
	// root's rules (member.go); set by Open.
	parley.MemberWrites
}

// ObserveBatches makes the committer report to fn the number of operations
// of every batch it takes and how long its database work took. fn runs on
// the committer goroutine after the batch and must not block.
func (s *Store) ObserveBatches(fn func(ops int, d time.Duration)) { s.batches.Store(&fn) }

// DefaultMaxConns is the pool size used when the URL does not set
// pool_max_conns.
const DefaultMaxConns = 16

// Open connects to the database at url (postgres://…; pgx connection string
// parameters such as pool_max_conns and search_path are honoured), applies
// pending migrations under an advisory lock (so several nodes may start at
// the same moment), and starts the message committer. It returns
// CodeUnavailable if the database cannot be reached.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, Options{})
}

// Options tune a Store beyond its URL. The zero value is Open's.
type Options struct {
	// CommitLinger is the longest the committer waits after taking a
	// small batch of message appends for more to arrive while many
	// clients write at once (groupcommit.Linger; a lone client never
	// waits). 0 never waits.
	CommitLinger time.Duration
}

// OpenWith is Open with opts.
func OpenWith(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, parley.Invalid("db", "bad PostgreSQL URL: %v", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 10 * time.Second
	cfg.PingTimeout = 5 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "parley"
	}
	s := &Store{}
	s.MemberWrites = s.runMembership
	cfg.ConnConfig.Tracer = (*tripCounter)(&s.trips)
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, translate(err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.cm = newCommitter(s, opts.CommitLinger)
	return s, nil
}

// Close stops the committer (appends in flight finish first) and closes the
// pool.
func (s *Store) Close() error {
	if s.cm != nil {
		s.cm.close()
	}
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return translate(err)
	}
	return nil
}

// Stats are cumulative counters of one Store, for benchmarks.
type Stats struct {
	RoundTrips int64 // statements and pipelined batches sent to PostgreSQL (BEGIN and COMMIT count)
	Appends    int64 // messages appended through the committer
	Batches    int64 // committer transactions
}

// Stats returns the Store's counters.
func (s *Store) Stats() Stats {
	st := Stats{RoundTrips: s.trips.Load()}
	if s.cm != nil {
		st.Appends = s.cm.appends.Load()
		st.Batches = s.cm.batches.Load()
	}
	return st
}

// tripCounter is a pgx tracer counting round trips: one per query and one
// per batch (a batch is sent as one pipeline).
type tripCounter atomic.Int64

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	(*atomic.Int64)(c).Add(1)
	return ctx
}
func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	(*atomic.Int64)(c).Add(1)
	return ctx
}
func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// migrate applies every embedded migration not yet recorded in
// schema_migrations, in file-name order, each in its own transaction. It
// holds a session-level advisory lock (keyed by the current schema) for the
// whole run, so nodes starting together apply each migration exactly once:
// the first takes the lock and migrates, the others wait and then find
// nothing left to do.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return translate(err)
	}
	defer conn.Release()
	const key = `hashtext('parley.migrate.' || current_schema())`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return translate(err)
	}
	defer func() {
		// A fresh context: the unlock must happen even if ctx is done; if
		// the connection is broken the server drops the lock anyway.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(uctx) //nolint:errcheck // the pool discards it
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return translate(err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return parley.Internal(err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		body, err := migrations.ReadFile(name)
		if err != nil {
			return parley.Internal(err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// No arguments: the simple protocol runs every statement of the file.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return translate(err)
		}
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
	if errors.Is(err, pgx.ErrNoRows) {
		return parley.Errorf(parley.CodeNotFound, "not found")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &parley.Error{Code: parley.CodeUnavailable, Message: "request cancelled or timed out", Err: err}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "23505": // unique_violation
			return &parley.Error{Code: parley.CodeConflict, Message: "already exists", Err: err}
		case pg.Code == "23503": // foreign_key_violation
			return &parley.Error{Code: parley.CodeNotFound, Message: "referenced record not found", Err: err}
		case pg.Code == "23514", pg.Code == "22001", pg.Code == "22021", pg.Code == "22P05":
			// check_violation, string_data_right_truncation,
			// character_not_in_repertoire, untranslatable_character
			return &parley.Error{Code: parley.CodeInvalid, Message: "value not accepted by the database", Err: err}
		case pg.Code == "40001", pg.Code == "40P01", pg.Code == "55P03":
			// serialization_failure, deadlock_detected, lock_not_available: retry later
			return parley.Unavailable(err)
		case strings.HasPrefix(pg.Code, "08"), // connection_exception
			strings.HasPrefix(pg.Code, "53"), // insufficient_resources (too many connections, disk full)
			strings.HasPrefix(pg.Code, "57"), // operator_intervention (shutdown, cannot_connect_now)
			pg.Code == "25006":               // read_only_sql_transaction (a standby after failover)
			return parley.Unavailable(err)
		}
		return parley.Internal(err)
	}
	if connectionLost(err) {
		return parley.Unavailable(err)
	}
	return parley.Internal(err)
}

// connectionLost reports whether err says the database could not be
// reached or the connection broke.
func connectionLost(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
}

// millis and fromMillis convert times to the BIGINT (Unix milliseconds, UTC)
// representation every table uses.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
