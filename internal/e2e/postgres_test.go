package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/server"
)

// A node on PostgreSQL answers 503 unavailable (REST and /readyz) while the
// database is down, and serves again by itself once it is back.
func TestPostgreSQLRestartThroughTheAPI(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	env := apitest.Start(t, func(c *server.Config) { c.DB = pg.URL() })
	ctx := context.Background()
	c := env.Client()
	res, err := c.Register(ctx, client.RegisterRequest{Username: "restart", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(res.Token)

	pg.Stop()
	if _, err := c.Me(ctx); !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("me with the database down: got %v, want unavailable", err)
	}
	if code := status(t, env.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database down: %d, want 503", code)
	}
	if code := status(t, env.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz with the database down: %d, want 200 (the process is alive)", code)
	}

	pg.Start()
	deadline := time.Now().Add(30 * time.Second)
	for status(t, env.URL+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("node did not become ready after PostgreSQL came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if me, err := c.Me(ctx); err != nil || me.ID != res.User.ID {
		t.Fatalf("me after restart: %+v, %v", me, err)
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
