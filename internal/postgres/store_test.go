package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/postgres"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/storetest"
)

// openURL opens a Store on u and closes it when the test ends.
func openURL(t testing.TB, u string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// open returns a Store on a fresh schema of its own.
func open(t *testing.T) parley.Store { return openURL(t, pgtest.Schema(t)) }

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// Nodes starting at the same moment apply each migration exactly once.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	u := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	stores := make([]*postgres.Store, len(errs))
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), u)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	conn, err := pgx.Connect(context.Background(), pgtest.ConnURL(u))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, distinct int
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Fatalf("schema_migrations: %d rows, %d distinct versions", n, distinct)
	}
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	pgtest.URL(t) // same skip rules as the other tests
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("got %v, want unavailable", err)
	}
}

func TestBadURLIsInvalid(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://%zz")
	if !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("got %v, want invalid", err)
	}
}

// When PostgreSQL drops every connection (as on a restart), calls fail with
// unavailable at worst and the store recovers by itself.
func TestRecoversAfterConnectionsAreKilled(t *testing.T) {
	t.Parallel()
	app := "parley_kill_" + parley.NewID()
	u := pgtest.WithParam(pgtest.Schema(t), "application_name", app)
	s := openURL(t, u)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no connection of the store was found to terminate")
	}
	var recovered bool
	for i := 0; i < 50; i++ {
		err := s.Ping(ctx)
		if err == nil {
			recovered = true
			break
		}
		if !parley.IsCode(err, parley.CodeUnavailable) {
			t.Fatalf("ping after kill: got %v, want nil or unavailable", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !recovered {
		t.Fatal("store did not recover after its connections were terminated")
	}
}
