package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// While PostgreSQL is down every call fails fast with unavailable, and once
// it is back the same Store works again without being reopened; nothing
// acked before the outage is lost.
func TestPostgreSQLRestart(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	s := openURL(t, pg.URL())
	conv, users := seed(t, s, 2)
	ctx := context.Background()
	first, _, err := s.AppendMessage(ctx, msg(conv, users[0], "before"), parley.CheckMember, nil)
	if err != nil {
		t.Fatal(err)
	}

	pg.Stop()
	for _, call := range []func(context.Context) error{
		s.Ping,
		func(ctx context.Context) error { _, err := s.User(ctx, users[0]); return err },
		func(ctx context.Context) error {
			_, _, err := s.AppendMessage(ctx, msg(conv, users[0], "during"), parley.CheckMember, nil)
			return err
		},
	} {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := call(cctx)
		cancel()
		if !parley.IsCode(err, parley.CodeUnavailable) {
			t.Fatalf("with PostgreSQL down: got %v, want unavailable", err)
		}
	}

	pg.Start()
	var err2 error
	for i := 0; i < 100; i++ {
		if err2 = s.Ping(ctx); err2 == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err2 != nil {
		t.Fatalf("store did not recover: %v", err2)
	}
	// The message refused during the outage can be resent (same client id).
	m, created, err := s.AppendMessage(ctx, msg(conv, users[0], "during"), parley.CheckMember, nil)
	if err != nil || !created || m.Seq != first.Seq+1 {
		t.Fatalf("after restart: %+v created=%v err=%v", m, created, err)
	}
	checkGapFree(t, s, conv, 2)
}
