package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/bench"
)

// TestWorkloadsEndToEnd runs every workload for about a second against an
// in-process server. It checks the accounting (nothing lost, nothing
// duplicated, every connection made), never timings.
func TestWorkloadsEndToEnd(t *testing.T) {
	env := apitest.Start(t, nil)
	if !conversationsServed(t, env.URL) {
		t.Skip("conversation endpoints are not served yet")
	}
	base := func(workload string) bench.Config {
		cfg := bench.Defaults()
		cfg.Workload = workload
		cfg.URL = env.URL
		cfg.Out = &testLog{t: t}
		cfg.Err = &testLog{t: t}
		cfg.Rates = []float64{40}
		cfg.StepDur = 500 * time.Millisecond
		cfg.Drain = 5 * time.Second
		cfg.Settle = 10 * time.Millisecond
		cfg.SLO = time.Minute // no timing judgements in tests
		cfg.Sources = 4
		cfg.SetupConc = 8
		return cfg
	}
	dir := t.TempDir()
	run := func(t *testing.T, cfg bench.Config) *bench.Report {
		t.Helper()
		cfg.JSONOut = filepath.Join(dir, cfg.Workload+".json")
		cfg.SVGOut = filepath.Join(dir, cfg.Workload+".svg")
		rep, err := bench.Run(context.Background(), cfg, "test")
		if err != nil {
			t.Fatalf("%s: %v", cfg.Workload, err)
		}
		b, err := os.ReadFile(cfg.JSONOut)
		if err != nil || !json.Valid(b) {
			t.Fatalf("JSON report: %v", err)
		}
		return rep
	}
	checkSteps := func(t *testing.T, rep *bench.Report, deliveries bool) {
		t.Helper()
		if len(rep.Steps) == 0 {
			t.Fatalf("no steps ran")
		}
		for _, s := range rep.Steps {
			if s.Acked != s.Scheduled || s.SendErrors != 0 || s.GenDrops != 0 {
				t.Errorf("step %d: scheduled %d acked %d errors %d drops %d (codes %v)",
					s.Step, s.Scheduled, s.Acked, s.SendErrors, s.GenDrops, rep.ErrorCodes)
			}
			if deliveries && (s.Lost != 0 || s.Duplicated != 0 || s.Delivered != s.Expected) {
				t.Errorf("step %d: expected %d delivered %d lost %d duplicated %d",
					s.Step, s.Expected, s.Delivered, s.Lost, s.Duplicated)
			}
		}
	}

	t.Run("idle", func(t *testing.T) {
		cfg := base("idle")
		cfg.Conns, cfg.Users, cfg.Convs, cfg.GroupSz, cfg.Hold = 20, 4, 2, 3, 200*time.Millisecond
		rep := run(t, cfg)
		if rep.Summary["connections"] != 20 || rep.Summary["dropped_while_idle"] != 0 {
			t.Errorf("summary %v", rep.Summary)
		}
	})
	t.Run("dm", func(t *testing.T) {
		cfg := base("dm")
		cfg.Pairs = 3
		checkSteps(t, run(t, cfg), true)
	})
	t.Run("group", func(t *testing.T) {
		cfg := base("group")
		cfg.Members, cfg.Senders = 6, 2
		rep := run(t, cfg)
		checkSteps(t, rep, true)
		if s := rep.Steps[0]; s.Fanout != 4 || s.Spread == nil || s.Spread.Count != s.Acked {
			t.Errorf("fan-out step: %+v", s)
		}
	})
	t.Run("storm", func(t *testing.T) {
		cfg := base("storm")
		cfg.Conns, cfg.Users, cfg.Convs, cfg.GroupSz = 12, 4, 2, 3
		rep := run(t, cfg)
		s := rep.Summary
		if s["reconnected"] != 12 || s["caught_up"] != int64(12) || s["resync_failures"] != int64(0) {
			t.Errorf("summary %v", s)
		}
	})
	t.Run("history", func(t *testing.T) {
		cfg := base("history")
		cfg.HistoryMessages, cfg.SeedConns, cfg.SeedUsers, cfg.Readers, cfg.PageSize = 200, 4, 4, 4, 20
		checkSteps(t, run(t, cfg), false)
	})
}

// conversationsServed reports whether the server routes conversation
// creation (anything but 404/405 to an unauthenticated POST).
func conversationsServed(t *testing.T, url string) bool {
	resp, err := http.Post(url+"/api/v1/conversations", "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed
}

type testLog struct{ t *testing.T }

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
