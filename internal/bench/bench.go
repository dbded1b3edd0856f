// Package bench is `parley bench`: an open-loop load generator for Parley
// and its standard workloads (idle, dm, group, storm, history). It drives any
// Parley URL through the public REST and WebSocket APIs, creating its own
// users and conversations under a unique per-run prefix, and reports HDR
// latency quantiles, sent/acked/delivered/lost/duplicated counts, and the CPU
// and memory of the server process (when local) and of itself.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config is one run of `parley bench`.
type Config struct {
	Workload string
	URL      string // target; empty: spawn `parley serve` on a throwaway data dir
	// WSURLs, when set, are the nodes of one cluster that WebSocket
	// connections go to, by connection index round robin (dm: senders on
	// the first, receivers on the second of two); REST setup still uses URL.
	WSURLs    []string
	ServerPID int    // server process to sample; 0: find it by the URL's port when local
	ServeBin  string // binary to spawn (default: this executable)
	ServeArgs []string

	Rates      []float64     // offered messages/s per step
	StepDur    time.Duration // duration of each step
	Drain      time.Duration // max wait for acks and deliveries after a step
	Settle     time.Duration // pause between steps
	SLO        time.Duration // p99 target that marks a step as within the goal
	KeepGoing  bool          // run every step even after saturation
	Sources    int           // 127.0.0.x source addresses for client sockets
	SetupConc  int           // concurrent REST calls during setup
	Prefix     string        // user name prefix (default: random per run)
	Password   string
	UserCache  string // file of users (with tokens) registered by earlier runs against the same URL
	DialTimout time.Duration

	Pairs     int // dm
	Members   int // group
	Senders   int // group, history seeding
	Conns     int // idle, storm: connections
	Users     int // idle, storm: distinct users (connections share their tokens)
	Convs     int // idle, storm: conversations per user
	GroupSz   int // idle, storm: members per conversation
	Hold      time.Duration
	Missed    int // storm: messages per conversation sent while clients are away
	StormConc int // storm: concurrent reconnects
	// StormHistoryOnly makes storm clients catch up with history frames
	// only, without naming their positions in the auth frame (since).
	StormHistoryOnly bool

	HistoryMessages int    // history: size of the conversation
	HistoryConv     string // history: reuse this conversation (seeded by an earlier run) instead of seeding
	PageSize        int    // history: messages per page
	Readers         int    // history: concurrent HTTP readers
	SeedConns       int    // history: concurrent REST senders seeding the conversation
	SeedUsers       int    // history: users the seeding is spread over

	JSONOut   string        // write the JSON report here ("-": stdout)
	SVGOut    string        // write the SVG chart here
	Progress  bool          // live progress line on Err
	QuietWait time.Duration // before each step, wait up to this long for other processes to go quiet
	QuietPct  float64       // "quiet": other processes under this % of one core
	Quiet     bool          // no table (JSON only)

	Out, Err io.Writer
}

// Defaults returns the configuration used when no flags are given.
func Defaults() Config {
	return Config{
		Rates:      []float64{1000, 2000, 4000, 8000},
		StepDur:    10 * time.Second,
		Drain:      10 * time.Second,
		Settle:     time.Second,
		SLO:        100 * time.Millisecond,
		Sources:    32,
		SetupConc:  32,
		Password:   "bench-password-1234",
		DialTimout: 20 * time.Second,
		Pairs:      100,
		Members:    1000,
		Senders:    16,
		Conns:      1000,
		Convs:      4,
		GroupSz:    10,
		Hold:       10 * time.Second,
		Missed:     2,
		StormConc:  1000,

		HistoryMessages: 1_000_000,
		PageSize:        50,
		Readers:         64,
		QuietPct:        25,
		SeedConns:       64,
		SeedUsers:       400,
		Out:             os.Stdout,
		Err:             os.Stderr,
	}
}

// Workloads lists the standard workloads.
var Workloads = []string{"idle", "dm", "group", "storm", "history"}

// Report is the machine-readable result of one run (--json).
type Report struct {
	Workload  string         `json:"workload"`
	Version   string         `json:"version"`
	Commit    string         `json:"commit"`
	Command   string         `json:"command"`
	Machine   Machine        `json:"machine"`
	Target    string         `json:"target"`
	ServerPID int            `json:"server_pid,omitempty"`
	Started   time.Time      `json:"started"`
	Params    map[string]any `json:"params"`
	Setup     map[string]any `json:"setup,omitempty"`
	Steps     []StepResult   `json:"steps,omitempty"`
	Summary   map[string]any `json:"summary,omitempty"`
	// Best is the highest offered rate whose step met the SLO with nothing lost.
	Best *StepResult `json:"best,omitempty"`

	ServerRSSBeforeKiB int64            `json:"server_rss_before_kib,omitempty"`
	ServerRSSAfterKiB  int64            `json:"server_rss_after_kib,omitempty"`
	ServerCPUSeconds   float64          `json:"server_cpu_s,omitempty"`
	GenCPUSeconds      float64          `json:"generator_cpu_s"`
	GenRSSKiB          int64            `json:"generator_rss_kib"`
	ErrorCodes         map[string]int64 `json:"error_codes,omitempty"`
}

// StepResult is one rung of the ladder.
type StepResult struct {
	Step         int        `json:"step"`
	OfferedRate  float64    `json:"offered_msg_s"`
	Fanout       int64      `json:"fanout"`
	Scheduled    int64      `json:"scheduled"`
	GenDrops     int64      `json:"generator_drops"`
	Sent         int64      `json:"sent"`
	SendErrors   int64      `json:"send_errors"`
	Acked        int64      `json:"acked"`
	Expected     int64      `json:"expected_deliveries"`
	Delivered    int64      `json:"delivered"`
	Lost         int64      `json:"lost"`
	Duplicated   int64      `json:"duplicated"`
	SentRate     float64    `json:"sent_msg_s"`
	AckRate      float64    `json:"acked_msg_s"`
	DeliveryRate float64    `json:"deliveries_s"`
	Latency      Quantiles  `json:"latency"`       // scheduled → delivered
	WriteLatency Quantiles  `json:"write_latency"` // written → delivered
	AckLatency   Quantiles  `json:"ack_latency"`   // scheduled → acked
	Spread       *Quantiles `json:"first_to_last,omitempty"`
	ServerCPUPct float64    `json:"server_cpu_pct"` // percent of one core
	GenCPUPct    float64    `json:"generator_cpu_pct"`
	OtherCPUPct  float64    `json:"other_cpu_pct"` // everything else on the machine (noise)
	ServerRSSKiB int64      `json:"server_rss_kib,omitempty"`
	WithinSLO    bool       `json:"within_slo"`
	Saturated    bool       `json:"saturated"`
	Note         string     `json:"note,omitempty"`
}

// runner holds what every workload shares.
type runner struct {
	cfg    Config
	rep    *Report
	rest   *REST
	dialer *Dialer
	wsurl  string
	wsurls []string // Config.WSURLs as ws:// URLs
	pid    int      // server pid (0: not local)
	// since, if set, gives the auth frame's since of client idx.
	since func(idx int) map[string]int64

	steps    []*Step
	cur      atomicStep
	errMu    sync.Mutex
	errCodes map[string]int64
}

type atomicStep struct {
	mu sync.Mutex
	s  *Step
}

func (a *atomicStep) set(s *Step) { a.mu.Lock(); a.s = s; a.mu.Unlock() }
func (a *atomicStep) get() *Step  { a.mu.Lock(); defer a.mu.Unlock(); return a.s }

// Run executes one workload and writes the table, JSON and SVG as configured.
func Run(ctx context.Context, cfg Config, command string) (*Report, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Err == nil {
		cfg.Err = io.Discard
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "pb" + randomString(5)
	}
	raiseNoFile()
	if os.Getenv("GOGC") == "" {
		// Fewer generator GC cycles: a little more memory, less noise.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	r := &runner{cfg: cfg, errCodes: map[string]int64{}}
	r.rep = &Report{
		Workload: cfg.Workload, Command: command, Machine: ReadMachine(),
		Started: time.Now().UTC(), Params: map[string]any{}, Setup: map[string]any{}, Summary: map[string]any{},
	}
	r.rep.Version, r.rep.Commit = buildInfo()

	target := cfg.URL
	if target == "" {
		sp, err := spawnServer(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer sp.stop(cfg.Err)
		target = sp.url
		r.pid = sp.pid
		r.rep.Params["spawned"] = true
	} else {
		r.pid = cfg.ServerPID
		if r.pid == 0 {
			r.pid = findServerPID(target)
		}
	}
	r.rep.Target = target
	r.rep.ServerPID = r.pid
	r.dialer = &Dialer{Sources: cfg.Sources, Timeout: cfg.DialTimout}
	r.rest = NewREST(target, r.dialer, max(cfg.SetupConc, cfg.Readers, cfg.SeedConns)+8)
	defer r.rest.Close()
	var err error
	if r.wsurl, err = wsURL(target, "/api/v1/ws"); err != nil {
		return nil, err
	}
	for _, u := range cfg.WSURLs {
		w, err := wsURL(u, "/api/v1/ws")
		if err != nil {
			return nil, err
		}
		r.wsurls = append(r.wsurls, w)
	}
	if err := waitReady(ctx, r.rest); err != nil {
		return nil, err
	}
	if s, err := ReadProc(r.pid); err == nil {
		r.rep.ServerRSSBeforeKiB = s.RSSKiB
	}
	srv0, _ := ReadProc(r.pid)
	gen0, _ := ReadProc(os.Getpid())

	switch cfg.Workload {
	case "idle":
		err = r.idle(ctx)
	case "dm":
		err = r.dm(ctx)
	case "group":
		err = r.group(ctx)
	case "storm":
		err = r.storm(ctx)
	case "history":
		err = r.history(ctx)
	default:
		err = fmt.Errorf("unknown workload %q (want one of %s)", cfg.Workload, strings.Join(Workloads, ", "))
	}
	srv1, _ := ReadProc(r.pid)
	gen1, _ := ReadProc(os.Getpid())
	r.rep.ServerRSSAfterKiB = srv1.RSSKiB
	if r.pid > 0 {
		r.rep.ServerCPUSeconds = (srv1.CPU - srv0.CPU).Seconds()
	}
	r.rep.GenCPUSeconds = (gen1.CPU - gen0.CPU).Seconds()
	r.rep.GenRSSKiB = gen1.RSSKiB
	r.errMu.Lock()
	if len(r.errCodes) > 0 {
		r.rep.ErrorCodes = r.errCodes
	}
	r.errMu.Unlock()
	r.rep.Best = bestStep(r.rep.Steps)
	if werr := r.writeOutputs(); werr != nil && err == nil {
		err = werr
	}
	return r.rep, err
}

// countErr tallies a failure by its error code (or a short description).
func (r *runner) countErr(code string) {
	if code == "" {
		code = "unknown"
	}
	r.errMu.Lock()
	r.errCodes[code]++
	r.errMu.Unlock()
}

func errCode(err error) string {
	switch e := err.(type) {
	case *APIError:
		if e.Code != "" {
			return e.Code
		}
		return fmt.Sprintf("http_%d", e.Status)
	case *CloseError:
		return fmt.Sprintf("close_%d", e.Code)
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "timeout"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "refused"
	case strings.Contains(s, "reset by peer"):
		return "reset"
	case strings.Contains(s, "EOF"):
		return "eof"
	case strings.Contains(s, "too many open files"):
		return "emfile"
	case strings.Contains(s, "address already in use"), strings.Contains(s, "cannot assign"):
		return "no_ports"
	}
	return "other"
}

func bestStep(steps []StepResult) *StepResult {
	var best *StepResult
	for i := range steps {
		s := &steps[i]
		if s.WithinSLO && (best == nil || s.OfferedRate > best.OfferedRate) {
			best = s
		}
	}
	return best
}

func (r *runner) writeOutputs() error {
	if r.cfg.JSONOut != "" {
		b, err := json.MarshalIndent(r.rep, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if r.cfg.JSONOut == "-" {
			_, err = r.cfg.Out.Write(b)
		} else {
			err = os.WriteFile(r.cfg.JSONOut, b, 0o644) // #nosec G306 -- the report is meant to be readable by others
		}
		if err != nil {
			return err
		}
	}
	if r.cfg.SVGOut != "" && len(r.rep.Steps) > 0 {
		f, err := os.Create(r.cfg.SVGOut)
		if err != nil {
			return err
		}
		if err := WriteSVG(f, r.rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) printf(format string, a ...any) {
	if !r.cfg.Quiet {
		fmt.Fprintf(r.cfg.Out, format, a...)
	}
}

// Commit names the source when the binary was built without VCS stamping
// (e.g. from `git archive`): go build -ldflags "-X github.com/parley-chat/parley/internal/bench.Commit=$(git rev-parse --short HEAD)".
var Commit string

func buildInfo() (version, commit string) {
	version = "devel"
	commit = Commit
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if dirty && commit != "" {
		commit += "+dirty"
	}
	return
}

// raiseNoFile lifts the soft open-files limit to the hard limit (a spawned
// server inherits it).
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func randomString(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b[i] = letters[v.Int64()]
	}
	return string(b)
}

// waitReady polls /healthz until the server answers (bounded).
func waitReady(ctx context.Context, rest *REST) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := rest.Do(ctx, "GET", "/healthz", "", nil, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// parallel runs fn(i) for i in [0,n) with at most conc at once and returns
// the first error (all calls still run).
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	if conc < 1 {
		conc = 1
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, conc)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// ParseRates parses "1000,2000,4k,1.5k".
func ParseRates(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(strings.ToLower(p))
		if p == "" {
			continue
		}
		mul := 1.0
		if strings.HasSuffix(p, "k") {
			mul, p = 1000, strings.TrimSuffix(p, "k")
		}
		var v float64
		if _, err := fmt.Sscanf(p, "%g", &v); err != nil || v*mul <= 0 {
			return nil, fmt.Errorf("bad rate %q", p)
		}
		out = append(out, v*mul)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rates")
	}
	sort.Float64s(out)
	return out, nil
}
