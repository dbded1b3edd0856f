package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/bench"
)

// runBench is `parley bench <workload> [flags]`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := bench.Defaults()
	cfg.Out, cfg.Err = stdout, stderr
	fs := flag.NewFlagSet("parley bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: parley bench <workload> [flags]

Runs a load generator against a Parley server and reports throughput,
latency (HDR p50/p90/p99/p99.9/max), sent/acked/delivered/lost/duplicated
counts and the server's CPU and memory (when it runs on this machine).
Without --url it starts 'parley serve' as a separate process on a throwaway
data dir. See docs/benchmarks.md.

Workloads:
  idle     N authenticated connections held open (RSS per connection, connect rate)
  dm       P pairs in direct conversations (msg/s at p99 under --slo, nothing lost)
  group    one group of M members, a few senders (deliveries/s, first-to-last latency)
  storm    all clients dropped at once, reconnect and resync (time until all caught up)
  history  paginated history reads on a conversation of H messages

Flags:
`)
		fs.PrintDefaults()
	}
	var rates, serveArgs string
	fs.StringVar(&cfg.URL, "url", "", "server to drive (e.g. http://127.0.0.1:8080); empty: spawn one")
	fs.Func("ws-urls", "comma-separated nodes of one cluster for the WebSocket connections, by connection round robin (dm: senders on the first, receivers on the second); default: --url", func(v string) error {
		cfg.WSURLs = nil
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.WSURLs = append(cfg.WSURLs, u)
			}
		}
		return nil
	})
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "server process to sample for CPU and RSS (default: found by the URL's port when local)")
	fs.StringVar(&cfg.ServeBin, "serve-bin", "", "binary to spawn when --url is empty (default: this one)")
	fs.StringVar(&serveArgs, "serve-args", "", "extra flags for the spawned 'parley serve' (space separated)")
	fs.StringVar(&rates, "rates", "1000,2000,4000,8000", "offered rates of the steps, messages/s (or reads/s), e.g. 1k,2k,5k")
	fs.DurationVar(&cfg.StepDur, "step", cfg.StepDur, "duration of each step")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "max wait for acks and deliveries after each step")
	fs.DurationVar(&cfg.SLO, "slo", cfg.SLO, "p99 latency a step must stay under to count")
	fs.BoolVar(&cfg.KeepGoing, "keep-going", false, "run every step even after one saturates")
	fs.IntVar(&cfg.Sources, "sources", cfg.Sources, "127.0.0.x source addresses to spread client sockets over (loopback targets)")
	fs.IntVar(&cfg.SetupConc, "setup-conc", cfg.SetupConc, "concurrent requests while creating users, conversations and connections")
	fs.StringVar(&cfg.UserCache, "user-cache", "", "reuse users (and their tokens) saved in this file by earlier runs against the same --url; new ones are added")
	fs.StringVar(&cfg.Prefix, "prefix", "", "user name prefix (default: random per run)")
	fs.IntVar(&cfg.Pairs, "pairs", cfg.Pairs, "dm: sender/receiver pairs")
	fs.IntVar(&cfg.Members, "members", cfg.Members, "group: members of the group")
	fs.IntVar(&cfg.Senders, "senders", cfg.Senders, "group: sending members (each user may send 50 msg/s by default)")
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "idle, storm: WebSocket connections")
	fs.IntVar(&cfg.Users, "users", 0, "idle, storm: distinct users the connections share (default min(conns, 500))")
	fs.IntVar(&cfg.Convs, "convs", cfg.Convs, "idle, storm: conversations per user")
	fs.IntVar(&cfg.GroupSz, "group-size", cfg.GroupSz, "idle, storm: members per conversation")
	fs.DurationVar(&cfg.Hold, "hold", cfg.Hold, "idle: how long to hold the connections")
	fs.IntVar(&cfg.Missed, "missed", cfg.Missed, "storm: messages posted to each conversation while clients are away")
	fs.IntVar(&cfg.StormConc, "storm-conc", cfg.StormConc, "storm: concurrent reconnects")
	fs.BoolVar(&cfg.StormHistoryOnly, "storm-history-only", false, "storm: catch up with history frames only, not naming the clients' positions in the auth frame (ready then carries no messages)")
	fs.IntVar(&cfg.HistoryMessages, "history-messages", cfg.HistoryMessages, "history: messages to seed")
	fs.StringVar(&cfg.HistoryConv, "history-conv", "", "history: read this conversation (seeded by an earlier run; needs --user-cache) instead of seeding a new one")
	fs.IntVar(&cfg.PageSize, "page-size", cfg.PageSize, "history: messages per page")
	fs.IntVar(&cfg.SeedConns, "seed-conns", cfg.SeedConns, "history: concurrent REST senders that seed the conversation")
	fs.IntVar(&cfg.SeedUsers, "seed-users", cfg.SeedUsers, "history: users the seeding is spread over (the server limits each user's send rate)")
	fs.IntVar(&cfg.Readers, "readers", cfg.Readers, "history: concurrent HTTP readers")
	fs.StringVar(&cfg.JSONOut, "json", "", "write the JSON report to this file ('-' for stdout, replacing the table)")
	fs.StringVar(&cfg.SVGOut, "svg", "", "write an SVG chart (throughput and latency against offered rate) to this file")
	fs.DurationVar(&cfg.QuietWait, "quiet-wait", 0, "before each step wait up to this long for other processes to use < --quiet-pct of a core (shared machines)")
	fs.Float64Var(&cfg.QuietPct, "quiet-pct", cfg.QuietPct, "see --quiet-wait")
	progress := fs.Bool("progress", isTerminal(os.Stderr), "show a live progress line on stderr")
	timeout := fs.Duration("timeout", 30*time.Minute, "abort the whole run after this long")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the generator itself to this file")

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		fs.Usage()
		return errUsage
	}
	cfg.Workload = args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley bench: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	var err error
	if cfg.Rates, err = bench.ParseRates(rates); err != nil {
		fmt.Fprintln(stderr, "parley bench: --rates:", err)
		return errUsage
	}
	cfg.ServeArgs = strings.Fields(serveArgs)
	cfg.Progress = *progress
	cfg.Quiet = cfg.JSONOut == "-"
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	_, err = bench.Run(ctx, cfg, "parley bench "+strings.Join(args, " "))
	return err
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
