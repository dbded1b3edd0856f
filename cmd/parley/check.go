package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/checker"
)

// runCheck is `parley check [flags]`: the nothing-lost checker (see
// docs/guarantees.md). It exits non-zero when anything acked was lost,
// duplicated or reordered, or a client stream has a gap after resync.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: parley check [flags]

Starts 'parley serve' processes (one on a throwaway SQLite data dir, or
--nodes N on --db and --nats), sends messages with unique ids into direct
chats and groups while injecting faults, then heals, drains and accounts
for every message: attempted, acknowledged, delivered, lost, duplicated,
unexpected, reordered, and gaps in every client's stream after resync.
Exit status 1 when anything acknowledged went wrong. See docs/guarantees.md.

Faults: kill (kill -9, restart on the same data), restart (SIGTERM,
restart), pause (SIGSTOP 1-4s, several nodes only), nats (restart the
private nats-server of --private-nats), cut (drop a few clients' sockets),
storm (drop every socket at once), slow (a consumer that stops reading).

Flags:
`)
		fs.PrintDefaults()
	}
	var (
		cfg         checker.Config
		faults      string
		nodes       int
		db, natsURL string
		dataDir     string
		privateNATS bool
		url         string
		serveArgs   string
	)
	fs.DurationVar(&cfg.Duration, "duration", time.Minute, "send phase")
	fs.Float64Var(&cfg.Rate, "rate", 100, "messages per second offered in total")
	fs.IntVar(&cfg.Users, "users", 8, "users (one real-time session each; direct chats between neighbours)")
	fs.IntVar(&cfg.Groups, "groups", 2, "groups of every user")
	fs.DurationVar(&cfg.FaultEvery, "fault-every", 3*time.Second, "mean time between faults")
	fs.StringVar(&faults, "faults", "kill,restart,pause,nats,cut,storm,slow", "faults to inject, comma separated, each optionally name=weight (kill=3: drawn three times as often); 'none' for none; those not applicable are skipped")
	fs.DurationVar(&cfg.Drain, "drain", 90*time.Second, "time allowed after healing for acks and deliveries")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random seed (0: random; printed)")
	fs.IntVar(&nodes, "nodes", 1, "nodes to run (more than one needs --db and --nats or --private-nats)")
	fs.StringVar(&db, "db", "", "PostgreSQL URL for the nodes (use a throwaway database); empty: SQLite")
	fs.StringVar(&natsURL, "nats", "", "NATS URL for the nodes")
	fs.BoolVar(&privateNATS, "private-nats", false, "start a private nats-server on a free port (enables the nats fault)")
	fs.StringVar(&dataDir, "data-dir", "", "data directory of the single SQLite node (default: a temporary one, removed after)")
	fs.StringVar(&serveArgs, "serve-args", "", "extra flags for every 'parley serve' (space separated)")
	fs.StringVar(&url, "url", "", "check a running server instead (client faults only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley check: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	want := map[string]int{} // fault → weight
	for _, f := range strings.Split(faults, ",") {
		name, weight, _ := strings.Cut(strings.TrimSpace(f), "=")
		if name == "" {
			continue
		}
		w := 1
		if weight != "" {
			if _, err := fmt.Sscanf(weight, "%d", &w); err != nil || w < 1 {
				fmt.Fprintf(stderr, "parley check: bad weight in %q\n", f)
				return errUsage
			}
		}
		want[name] = w
	}
	if want["none"] > 0 {
		cfg.NoFaults = true
	}
	cfg.ClientFaults = []string{}
	for _, f := range []string{checker.FaultCut, checker.FaultStorm, checker.FaultSlow} {
		for i := 0; i < want[f]; i++ {
			cfg.ClientFaults = append(cfg.ClientFaults, f)
		}
	}
	cfg.Log = stderr

	if url != "" {
		cfg.URLs = []string{url}
	} else {
		if nodes > 1 && (db == "" || (natsURL == "" && !privateNATS)) {
			fmt.Fprintln(stderr, "parley check: --nodes > 1 needs --db and --nats (or --private-nats)")
			return errUsage
		}
		bin, err := os.Executable()
		if err != nil {
			return err
		}
		local := &checker.Local{}
		defer local.Close()
		if privateNATS {
			n, err := checker.StartNATS(ctx)
			if err != nil {
				return err
			}
			defer n.Stop()
			natsURL = n.URL()
			for i := 0; i < want["nats"]; i++ {
				local.Extra = append(local.Extra, n.Fault())
			}
			local.Heals = append(local.Heals, n.Start)
		}
		for i := 0; i < nodes; i++ {
			dir := dataDir
			if dir == "" || nodes > 1 {
				d, err := os.MkdirTemp("", "parley-check-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(d)
				dir = d
			}
			args := []string{"--data-dir", dir, "--log-level", "error", "--shutdown-grace", "2s"}
			if db != "" {
				args = append(args, "--db", db)
			}
			if natsURL != "" {
				args = append(args, "--nats", natsURL)
			}
			args = append(args, strings.Fields(serveArgs)...)
			n, err := checker.NewNode(fmt.Sprintf("node%d", i), bin, stderr, args...)
			if err != nil {
				return err
			}
			local.Nodes = append(local.Nodes, n)
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = local.Start(sctx)
		cancel()
		if err != nil {
			return err
		}
		for _, f := range local.Faults() {
			for i := 0; i < want[f.Name]; i++ {
				cfg.Faults = append(cfg.Faults, f)
			}
		}
		cfg.URLs = local.URLs()
		cfg.Heal = local.Heal
	}
	res, err := checker.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.Print(stdout)
	if !res.OK() {
		return errors.New("nothing-lost check failed")
	}
	return nil
}
