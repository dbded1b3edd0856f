package postgres

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

var _ parley.Presence = (*Presence)(nil)

// Presence is a parley.Presence shared by every node on one database: a
// user is online while any node holds a connection of theirs.
//
// Each node counts its own connections in memory and writes to PostgreSQL
// only when a user's count on the node goes 0→1 or 1→0 (one pipelined
// round trip, without waiting for fsync: presence is ephemeral). Those
// writes take a per-user advisory lock, so two nodes losing a user's last
// connections at the same moment agree that exactly one of them took the
// user offline.
//
// Node death: each node renews a lease every Lease/3. Rows of a node whose
// lease ran out no longer count, and the other nodes' sweepers delete them
// and report the users left with no live connection as offline through
// Notify. A dead node's users therefore go offline within Lease + Lease/3
// (20 s by default). A node that lost its lease (cut off from the database)
// re-registers its connections at its next heartbeat; the heartbeat also
// repairs rows a failed write left wrong.
type Presence struct {
	pool   *Store
	node   string
	lease  time.Duration
	notify func(parley.PresenceStatus)
	log    *slog.Logger

	stripes [64]sync.Mutex // serialise one user's transitions on this node
	mu      sync.Mutex
	local   map[string]int // user → connections on this node

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// PresenceOptions configure Presence.
type PresenceOptions struct {
	// Lease is how long a node's connections count without a heartbeat;
	// default 15 s.
	Lease time.Duration
	// Notify, if set, is called with the users whose presence changed
	// without a Connect or Disconnect on this node: offline when their node
	// died, online when this node re-registered after losing its lease. The
	// server publishes presence events from it. It must not block.
	Notify func(parley.PresenceStatus)
	Logger *slog.Logger
}

// DefaultLease is the default PresenceOptions.Lease.
const DefaultLease = 15 * time.Second

// nowMS is the database clock in Unix milliseconds: every lease is set and
// compared on one clock, whatever the nodes' clocks say.
const nowMS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`

// Presence registers this node and starts its heartbeat. Close stops it
// and removes the node's connections.
func (s *Store) Presence(ctx context.Context, o PresenceOptions) (*Presence, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	p := &Presence{pool: s, node: parley.NewID(), lease: o.Lease, notify: o.Notify, log: o.Logger,
		local: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if _, err := p.heartbeat(ctx); err != nil {
		return nil, err
	}
	go p.loop() // #nosec G118 -- the loop outlives the call that starts it: it runs until Close
	return p, nil
}

// NodeID identifies this node in the presence tables.
func (p *Presence) NodeID() string { return p.node }

func (p *Presence) stripe(userID string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(userID))
	return &p.stripes[h.Sum32()%uint32(len(p.stripes))]
}

// Connect implements parley.Presence.
func (p *Presence) Connect(ctx context.Context, userID string) (bool, error) {
	st := p.stripe(userID)
	st.Lock()
	defer st.Unlock()
	p.mu.Lock()
	p.local[userID]++
	first := p.local[userID] == 1
	p.mu.Unlock()
	if !first {
		return false, nil
	}
	others, err := p.transition(ctx, userID, `INSERT INTO presence (user_id, node_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, time.Time{})
	if err != nil {
		return false, err // the heartbeat writes the row later
	}
	return others == 0, nil
}

// Disconnect implements parley.Presence. A Disconnect without a matching
// Connect is ignored.
func (p *Presence) Disconnect(ctx context.Context, userID string, at time.Time) (bool, error) {
	st := p.stripe(userID)
	st.Lock()
	defer st.Unlock()
	p.mu.Lock()
	n, ok := p.local[userID]
	if ok && n > 1 {
		p.local[userID] = n - 1
	} else {
		delete(p.local, userID)
	}
	p.mu.Unlock()
	if !ok || n > 1 {
		return false, nil
	}
	others, err := p.transition(ctx, userID, `DELETE FROM presence WHERE user_id = $1 AND node_id = $2`, at)
	if err != nil {
		return false, err // the heartbeat deletes the row later
	}
	return others == 0, nil
}

// transition runs write (with $1 user, $2 node) under the user's advisory
// lock, records last seen if at is set, and returns how many other live
// nodes hold the user — all in one round trip.
func (p *Presence) transition(ctx context.Context, userID, write string, at time.Time) (int, error) {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(`SELECT pg_advisory_xact_lock(hashtext('parley.presence.' || $1::text))`, userID)
	b.Queue(write, userID, p.node)
	if !at.IsZero() {
		b.Queue(`INSERT INTO last_seen (user_id, at) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET at = GREATEST(last_seen.at, EXCLUDED.at)`, userID, millis(at))
	}
	b.Queue(`SELECT count(*) FROM presence x JOIN presence_nodes n ON n.node_id = x.node_id
		WHERE x.user_id = $1 AND x.node_id <> $2 AND n.lease_until >= `+nowMS, userID, p.node)
	b.Queue(`COMMIT`)
	conn, err := p.pool.pool.Acquire(ctx)
	if err != nil {
		return 0, translate(err)
	}
	defer conn.Release()
	br := conn.SendBatch(ctx, b)
	var others int
	err = func() error {
		for i := 0; i < b.Len()-2; i++ {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		if err := br.QueryRow().Scan(&others); err != nil {
			return err
		}
		_, err := br.Exec()
		return err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if _, rerr := conn.Exec(context.Background(), "ROLLBACK"); rerr != nil {
			_ = conn.Conn().Close(context.Background())
		}
		return 0, translate(err)
	}
	return others, nil
}

// Status implements parley.Presence.
func (p *Presence) Status(ctx context.Context, userIDs []string) ([]parley.PresenceStatus, error) {
	out := make([]parley.PresenceStatus, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := p.pool.pool.Query(ctx, `SELECT u.ord, EXISTS (SELECT 1 FROM presence x
			JOIN presence_nodes n ON n.node_id = x.node_id WHERE x.user_id = u.id AND n.lease_until >= `+nowMS+`),
			(SELECT l.at FROM last_seen l WHERE l.user_id = u.id)
		FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)`, userIDs)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ord int64
		var online bool
		var seen *int64
		if err := rows.Scan(&ord, &online, &seen); err != nil {
			return nil, translate(err)
		}
		st := parley.PresenceStatus{UserID: userIDs[ord-1], Online: online}
		if !online && seen != nil {
			t := fromMillis(*seen)
			st.LastSeenAt = &t
		}
		out[ord-1] = st
	}
	return out, translate(rows.Err())
}

func (p *Presence) loop() {
	defer close(p.done)
	t := time.NewTicker(p.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.lease/3)
		if _, err := p.heartbeat(ctx); err != nil {
			p.log.Warn("presence heartbeat failed", "node_id", p.node, "err", err)
		}
		if err := p.sweep(ctx); err != nil {
			p.log.Warn("presence sweep failed", "node_id", p.node, "err", err)
		}
		cancel()
	}
}

// heartbeat renews this node's lease and makes its rows match its
// connections. It reports whether the node had to re-register (its lease
// had been swept), in which case its users are announced online again.
func (p *Presence) heartbeat(ctx context.Context) (bool, error) {
	// No transition may run while the rows are repaired: a Connect between
	// the snapshot and the DELETE would lose its row.
	for i := range p.stripes {
		p.stripes[i].Lock()
	}
	defer func() {
		for i := range p.stripes {
			p.stripes[i].Unlock()
		}
	}()
	p.mu.Lock()
	users := make([]string, 0, len(p.local))
	for u := range p.local {
		users = append(users, u)
	}
	p.mu.Unlock()
	var inserted bool
	err := pgx.BeginFunc(ctx, p.pool.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO presence_nodes (node_id, lease_until) VALUES ($1, `+nowMS+` + $2)
			ON CONFLICT (node_id) DO UPDATE SET lease_until = EXCLUDED.lease_until RETURNING xmax = 0`,
			p.node, p.lease.Milliseconds()).Scan(&inserted); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO presence (user_id, node_id) SELECT u, $2 FROM unnest($1::text[]) AS u
			ON CONFLICT DO NOTHING`, users, p.node); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM presence WHERE node_id = $1 AND user_id <> ALL($2::text[])`, p.node, users)
		return err
	})
	if err != nil {
		return false, translate(err)
	}
	if inserted && p.notify != nil {
		for _, u := range users {
			p.notify(parley.PresenceStatus{UserID: u, Online: true})
		}
	}
	return inserted, nil
}

// sweep removes nodes whose lease ran out, with their rows, and reports
// their users who have no other live node as offline. Several nodes may
// sweep at once: each dead row is deleted, and reported, by one of them.
func (p *Presence) sweep(ctx context.Context) error {
	rows, err := p.pool.pool.Query(ctx, `WITH dead AS (
			DELETE FROM presence_nodes WHERE lease_until < `+nowMS+` RETURNING node_id
		)
		DELETE FROM presence x USING dead WHERE x.node_id = dead.node_id RETURNING x.user_id`)
	if err != nil {
		return translate(err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return translate(err)
	}
	// Rows of nodes that no longer exist (a node swept while it was writing).
	if _, err := p.pool.pool.Exec(ctx, `DELETE FROM presence x WHERE NOT EXISTS
		(SELECT 1 FROM presence_nodes n WHERE n.node_id = x.node_id)`); err != nil {
		return translate(err)
	}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u] {
			continue
		}
		seen[u] = true
		now := time.Now()
		others, err := p.transition(ctx, u, `SELECT $1::text, $2::text`, now)
		if err != nil {
			return err
		}
		if others == 0 && p.notify != nil {
			p.mu.Lock()
			here := p.local[u] > 0
			p.mu.Unlock()
			if !here {
				t := fromMillis(millis(now))
				p.notify(parley.PresenceStatus{UserID: u, Online: false, LastSeenAt: &t})
			}
		}
	}
	return nil
}

// Close stops the heartbeat and removes this node and its connections from
// the shared tables (its users' last connections end with it).
func (p *Presence) Close() error {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.pool.pool.Exec(ctx, `DELETE FROM presence WHERE node_id = $1`, p.node); err != nil {
		return translate(err)
	}
	_, err := p.pool.pool.Exec(ctx, `DELETE FROM presence_nodes WHERE node_id = $1`, p.node)
	return translate(err)
}

// abandon stops the heartbeat without cleaning up, as a crash would (tests).
func (p *Presence) abandon() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}
