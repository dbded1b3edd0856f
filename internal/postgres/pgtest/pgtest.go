// Package pgtest gives each test its own PostgreSQL schema on the server
// named by PARLEY_TEST_POSTGRES, so tests run in parallel and leave nothing
// behind. Without the variable, tests using it skip; with
// PARLEY_TEST_REQUIRE_SERVICES=1 an unreachable server fails them instead.
package pgtest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// EnvURL names the environment variable holding the test server's URL,
// e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "PARLEY_TEST_POSTGRES"

// SchemaPrefix starts the name of every schema this package creates.
const SchemaPrefix = "parley_test_"

var sweepOnce sync.Once

// URL returns the test server's URL after checking that it answers. It
// skips t when EnvURL is unset, and skips or fails it (with
// PARLEY_TEST_REQUIRE_SERVICES=1) when the server is unreachable.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set but PARLEY_TEST_REQUIRE_SERVICES=1", EnvURL)
		}
		t.Skipf("%s not set; skipping PostgreSQL test", EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		if os.Getenv("PARLEY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("PostgreSQL at %s unreachable: %v", EnvURL, err)
		}
		t.Skipf("PostgreSQL at %s unreachable: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	sweepOnce.Do(func() { sweep(ctx, conn) })
	return u
}

// Schema creates a fresh, empty schema and returns a URL whose connections
// use it (search_path), with at most 4 connections per pool. The schema and everything in it are dropped when
// the test ends; connections still using it are terminated first.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := SchemaPrefix + parley.NewID()
	execSQL(t, base, `CREATE SCHEMA `+name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	// A small pool per store: many tests (and test clusters of several
	// nodes) share one server and its max_connections.
	return WithParam(WithParam(base, "search_path", name), "pool_max_conns", "4")
}

// WithParam returns the connection URL u with a connection parameter set
// (e.g. application_name, search_path, pool_max_conns).
func WithParam(u, key, value string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return strings.TrimSpace(u) + " " + key + "=" + value // keyword/value form
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}

// ConnURL returns u without the pool parameters (pool_max_conns…) that
// Schema adds, for a single pgx.Connect connection.
func ConnURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

func execSQL(t testing.TB, u, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// sweep drops test schemas left behind by test processes that were killed
// more than an hour ago (their names embed their creation time).
func sweep(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, SchemaPrefix+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-time.Hour)
	for _, n := range names {
		if created, ok := idTime(strings.TrimPrefix(n, SchemaPrefix)); ok && created.Before(cutoff) {
			_, _ = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{n}.Sanitize()+` CASCADE`)
		}
	}
}

// idTime decodes the millisecond timestamp in the first 10 characters of a
// parley.NewID (2 zero bits, then 48 bits of time).
func idTime(id string) (time.Time, bool) {
	if !parley.ValidID(id) {
		return time.Time{}, false
	}
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var ms int64
	for i := 0; i < 10; i++ {
		ms = ms<<5 | int64(strings.IndexByte(alphabet, id[i]))
	}
	return time.UnixMilli(ms), true
}
