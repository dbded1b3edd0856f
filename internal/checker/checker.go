// Package checker is Parley's "nothing lost" checker: clients send messages
// with unique ids at a steady rate into direct chats and groups while faults
// are injected (server kill -9, graceful restarts, clients cut off, slow
// consumers, reconnect storms, and on a cluster node/NATS/PostgreSQL
// restarts and paused nodes). Afterwards it heals every fault, drains, reads
// every conversation's full history and every client's received stream,
// and accounts for every message id.
//
// The verdict (Result.OK) fails when any acknowledged message is lost,
// duplicated or out of order, when history has a gap, when a message
// nobody attempted appears, or when a client's stream misses, repeats or
// reorders a message after resync.
package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// Fault is one fault the checker may inject. Do must return once the fault
// has been applied (a killed node may still be down: Heal brings it back).
type Fault struct {
	Name string
	Do   func(ctx context.Context, rng *rand.Rand) error
}

// Client-side faults the checker implements itself.
const (
	FaultCut   = "cut"   // drop 1–3 clients' sockets mid-stream
	FaultStorm = "storm" // drop every client's socket at once
	FaultSlow  = "slow"  // a raw socket that stops reading; an SDK consumer that pauses
)

// Config describes one run. Zero fields take the defaults shown.
type Config struct {
	URLs         []string      // node base URLs; clients and senders are spread over them (required)
	Users        int           // 8
	Groups       int           // 2 (each of every user); plus one direct chat per neighbouring pair
	Rate         float64       // messages per second offered in total; 100
	Duration     time.Duration // send phase; 30s
	FaultEvery   time.Duration // mean time between faults; 3s (0 with NoFaults)
	NoFaults     bool
	Faults       []Fault  // server faults (from a Target)
	ClientFaults []string // FaultCut, FaultStorm, FaultSlow; all three when nil
	// Heal undoes every server fault (restarts killed nodes, resumes paused
	// ones, brings services back) and returns when the system is ready.
	Heal  func(ctx context.Context) error
	Drain time.Duration // time allowed to ack outstanding sends and to deliver everything after healing; 90s
	Seed  uint64        // 0: random
	Log   io.Writer     // progress and fault log; nil discards
}

// Result is the accounting of one run.
type Result struct {
	Attempted     int // distinct message ids sent at least once
	Acknowledged  int // ids acked by the server (REST 200/201 or WebSocket ack)
	Indeterminate int // attempted, never acked (may or may not be stored)
	Stored        int // distinct ids in history
	Delivered     int // message events received by clients (all streams, after dedup by nobody)
	Lost          int // acked but missing from history
	Duplicated    int // ids stored more than once
	Unexpected    int // stored but never attempted, or with another sender
	Reordered     int // acked in one order by one sender, stored in another
	AckMismatch   int // ack's id or seq differs from history's
	HistoryGaps   int // missing seqs in a conversation's history
	StreamGaps    int // seqs a client never received after resync
	StreamDups    int // seqs a client received twice
	StreamOrder   int // seqs a client received out of order
	StreamWrong   int // a delivered message differing from history's at that seq
	Faults        map[string]int
	Retries       int64 // send attempts beyond the first
	Disconnects   int   // "disconnected" events seen by clients
	Failures      []string
	Elapsed       time.Duration
}

// OK reports whether the run found nothing wrong.
func (r Result) OK() bool {
	return r.Lost+r.Duplicated+r.Unexpected+r.Reordered+r.AckMismatch+r.HistoryGaps+
		r.StreamGaps+r.StreamDups+r.StreamOrder+r.StreamWrong == 0 && len(r.Failures) == 0
}

// Print writes the counts as a table.
func (r Result) Print(w io.Writer) {
	row := func(k string, v any) { fmt.Fprintf(w, "  %-28s %v\n", k, v) }
	fmt.Fprintln(w, "messages")
	row("attempted", r.Attempted)
	row("acknowledged", r.Acknowledged)
	row("indeterminate (never acked)", r.Indeterminate)
	row("stored (distinct ids)", r.Stored)
	row("delivered (events)", r.Delivered)
	row("lost (acked, not stored)", r.Lost)
	row("duplicated", r.Duplicated)
	row("unexpected", r.Unexpected)
	row("reordered", r.Reordered)
	row("ack mismatch", r.AckMismatch)
	row("history gaps", r.HistoryGaps)
	fmt.Fprintln(w, "client streams")
	row("gaps after resync", r.StreamGaps)
	row("duplicates", r.StreamDups)
	row("out of order", r.StreamOrder)
	row("wrong message at seq", r.StreamWrong)
	row("disconnects seen", r.Disconnects)
	row("send retries", r.Retries)
	fmt.Fprintln(w, "faults injected")
	total := 0
	for k, v := range r.Faults {
		row(k, v)
		total += v
	}
	row("total", total)
	row("elapsed", r.Elapsed.Round(time.Millisecond))
	for i, f := range r.Failures {
		if i == 20 {
			fmt.Fprintf(w, "  … %d more\n", len(r.Failures)-20)
			break
		}
		fmt.Fprintln(w, "  FAIL", f)
	}
	if r.OK() {
		fmt.Fprintln(w, "verdict: OK — every acknowledged message stored once, in order, and delivered to every client")
	} else {
		fmt.Fprintln(w, "verdict: FAILED")
	}
}

// ack is one acknowledged send.
type ack struct {
	cmid, id string
	seq      int64
}

type chkUser struct {
	idx   int
	user  parley.User
	token string
	rest  []*client.Client // one per URL
	rt    *client.Realtime
	convs []string

	mu     sync.Mutex
	stream map[string][]parley.Message // conversation → messages in arrival order
	pause  atomic.Int64                // unix nanos until which the consumer does not read
	disc   int
	final  error
	done   chan struct{}
}

type run struct {
	cfg   Config
	rng   *rand.Rand
	rngMu sync.Mutex
	log   func(format string, args ...any)
	t0    time.Time
	users []*chkUser
	convs []string

	mu        sync.Mutex
	attempted map[string]string      // cmid → sender id
	acked     map[string]ack         // cmid → ack
	order     map[[2]string][]string // (sender, conv) → cmids in ack order
	sentConv  map[string]string      // cmid → conversation
	failures  []string
	faults    map[string]int
	retries   atomic.Int64
	fatalSend map[string]error
}

func (r *run) fail(format string, args ...any) {
	r.mu.Lock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *run) intn(n int) int {
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	return r.rng.IntN(n)
}

// Run performs one checker run.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if len(cfg.URLs) == 0 {
		return Result{}, errors.New("checker: no URLs")
	}
	setDefault := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDefault(&cfg.Users, 8)
	if cfg.Users < 2 {
		cfg.Users = 2
	}
	if cfg.Groups < 0 {
		cfg.Groups = 0
	} else if cfg.Groups == 0 {
		cfg.Groups = 2
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.FaultEvery <= 0 {
		cfg.FaultEvery = 3 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 90 * time.Second
	}
	if cfg.ClientFaults == nil {
		cfg.ClientFaults = []string{FaultCut, FaultStorm, FaultSlow}
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64() // #nosec G404 -- a seed for fault scheduling, printed
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	r := &run{
		// #nosec G404 -- fault scheduling, reproducible from the seed
		cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)), t0: time.Now(),
		attempted: map[string]string{}, acked: map[string]ack{}, order: map[[2]string][]string{},
		sentConv: map[string]string{}, faults: map[string]int{}, fatalSend: map[string]error{},
	}
	var logMu sync.Mutex
	r.log = func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(cfg.Log, "[%7.2fs] %s\n", time.Since(r.t0).Seconds(), fmt.Sprintf(format, args...))
	}
	r.log("seed %d: %d users, %d groups, %.0f msg/s for %s, faults every ~%s", cfg.Seed, cfg.Users, cfg.Groups, cfg.Rate, cfg.Duration, cfg.FaultEvery)
	if err := r.setup(ctx); err != nil {
		return Result{}, err
	}
	defer func() {
		for _, u := range r.users {
			if u.rt != nil {
				_ = u.rt.Close()
			}
		}
	}()

	// Send phase with faults.
	sendCtx, stopSending := context.WithTimeout(ctx, cfg.Duration)
	defer stopSending()
	giveUp, stopRetrying := context.WithTimeout(ctx, cfg.Duration+cfg.Drain)
	defer stopRetrying()
	var senders sync.WaitGroup
	for _, u := range r.users {
		senders.Add(1)
		go func() { defer senders.Done(); r.send(sendCtx, giveUp, u) }()
	}
	var faulter sync.WaitGroup
	if !cfg.NoFaults {
		faulter.Add(1)
		go func() { defer faulter.Done(); r.injectFaults(sendCtx) }()
	}
	faulter.Wait()
	<-sendCtx.Done()
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	r.log("send phase over; healing")
	if cfg.Heal != nil {
		hctx, cancel := context.WithTimeout(ctx, cfg.Drain)
		err := cfg.Heal(hctx)
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("heal: %w", err)
		}
	}
	for _, u := range r.users {
		u.pause.Store(0)
	}
	senders.Wait()
	r.log("senders done; reading history")
	res, err := r.account(ctx)
	res.Elapsed = time.Since(r.t0)
	return res, err
}

// setup registers the users, creates the conversations and connects one
// real-time session per user (user i on URLs[i mod n]).
func (r *run) setup(ctx context.Context) error {
	prefix := fmt.Sprintf("chk%x", r.cfg.Seed&0xffffff)
	for i := 0; i < r.cfg.Users; i++ {
		u := &chkUser{idx: i, stream: map[string][]parley.Message{}, done: make(chan struct{})}
		var res client.AuthResponse
		err := retry(ctx, time.Minute, func() error {
			var err error
			res, err = client.New(r.cfg.URLs[i%len(r.cfg.URLs)]).Register(ctx, client.RegisterRequest{
				Username: fmt.Sprintf("%s_%d", prefix, i), Password: "nothing lost " + prefix})
			return err
		})
		if err != nil {
			return fmt.Errorf("register user %d: %w", i, err)
		}
		u.user, u.token = res.User, res.Token
		for _, base := range r.cfg.URLs {
			u.rest = append(u.rest, client.New(base, client.WithToken(res.Token)))
		}
		r.users = append(r.users, u)
	}
	addConv := func(owner int, req client.CreateConversationRequest, members []int) error {
		var conv parley.Conversation
		err := retry(ctx, time.Minute, func() error {
			var err error
			conv, _, err = r.users[owner].rest[0].CreateConversation(ctx, req)
			return err
		})
		if err != nil {
			return fmt.Errorf("create %s conversation: %w", req.Kind, err)
		}
		r.convs = append(r.convs, conv.ID)
		for _, m := range members {
			r.users[m].convs = append(r.users[m].convs, conv.ID)
		}
		return nil
	}
	n := len(r.users)
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		if n == 2 && i == 1 {
			break
		}
		if err := addConv(i, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{r.users[j].user.ID}}, []int{i, j}); err != nil {
			return err
		}
	}
	for g := 0; g < r.cfg.Groups; g++ {
		var ids []string
		var members []int
		for i := range r.users {
			if i != g%n {
				ids = append(ids, r.users[i].user.ID)
			}
			members = append(members, i)
		}
		if err := addConv(g%n, client.CreateConversationRequest{Kind: parley.KindGroup, Title: fmt.Sprintf("group %d", g), MemberIDs: ids}, members); err != nil {
			return err
		}
	}
	for _, u := range r.users {
		since := map[string]int64{}
		for _, c := range u.convs {
			since[c] = 0 // every message from seq 1
		}
		var rt *client.Realtime
		err := retry(ctx, time.Minute, func() error {
			var err error
			rt, err = u.rest[u.idx%len(u.rest)].Connect(ctx, client.RealtimeOptions{Since: since, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
			return err
		})
		if err != nil {
			return fmt.Errorf("connect user %d: %w", u.idx, err)
		}
		u.rt = rt
		go r.consume(u)
	}
	r.log("setup: %d users, %d conversations, %d sessions", n, len(r.convs), n)
	return nil
}

// consume records one session's message events, honouring pauses (the
// application not reading: the SDK must buffer, the socket must not stall).
func (r *run) consume(u *chkUser) {
	defer close(u.done)
	for ev := range u.rt.Events() {
		for {
			until := u.pause.Load()
			d := time.Until(time.Unix(0, until))
			if until == 0 || d <= 0 {
				break
			}
			time.Sleep(min(d, 100*time.Millisecond))
		}
		switch ev.Type {
		case "disconnected":
			u.mu.Lock()
			u.disc++
			u.final = ev.Err
			u.mu.Unlock()
		case "message":
			if ev.Message != nil {
				u.mu.Lock()
				u.stream[ev.Message.ConversationID] = append(u.stream[ev.Message.ConversationID], *ev.Message)
				u.mu.Unlock()
			}
		}
	}
}

func retry(ctx context.Context, limit time.Duration, fn func() error) error {
	deadline := time.Now().Add(limit)
	wait := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// retryable: the server may not have done it, or did it and could not say.
func retryable(err error) bool {
	switch parley.ErrorCode(err) {
	case parley.CodeUnavailable, parley.CodeRateLimited, parley.CodeInternal:
		return true
	}
	var pe *parley.Error
	if !errors.As(err, &pe) {
		return true // transport errors: connection refused, reset, EOF
	}
	return pe.Code == ""
}
