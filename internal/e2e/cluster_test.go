package e2e_test

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// TestCluster runs three `parley serve` processes on one PostgreSQL schema
// and one NATS subject behind nginx, and checks that they behave as one
// server: accounts and sessions made on one node work on the others and
// through the load balancer; messages sent through any node reach the
// WebSocket clients of every node, exactly once and in order, even when a
// node is killed with SIGKILL mid-stream; the load balancer routes around
// the dead node.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startCluster(t, 3)
	ctx := clusterCtx(t)

	t.Run("accounts span nodes", func(t *testing.T) {
		// Register on node 0, sign in on node 1, use the token on node 2 and
		// through the load balancer.
		reg := client.New(c.nodes[0].URL())
		res, err := reg.Register(ctx, client.RegisterRequest{Username: "span", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		login, err := client.New(c.nodes[1].URL()).Login(ctx, "span", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range []string{c.nodes[2].URL(), c.LB()} {
			me, err := client.New(base, client.WithToken(login.Token)).Me(ctx)
			if err != nil || me.ID != res.User.ID {
				t.Fatalf("%s: me = %+v, %v", base, me, err)
			}
		}
		// Sign-out on node 2 revokes the token everywhere: at once on node 2,
		// on the others (which keep the sessions they checked) when the bus
		// brings the change (docs/accounts.md).
		if err := client.New(c.nodes[2].URL(), client.WithToken(login.Token)).Logout(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := client.New(c.nodes[2].URL(), client.WithToken(login.Token)).Me(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("node 2 after logout: %v", err)
		}
		for _, nd := range c.nodes {
			waitFor(t, nd.name+" to refuse the token after logout", func() bool {
				_, err := client.New(nd.URL(), client.WithToken(login.Token)).Me(ctx)
				return parley.IsCode(err, parley.CodeUnauthenticated)
			})
		}
	})

	t.Run("sign-out and account disable close sockets on every node", func(t *testing.T) {
		testClusterRevocation(t, c)
	})

	t.Run("membership, receipts and typing cross nodes", func(t *testing.T) {
		testClusterEvents(t, c)
	})

	t.Run("messages cross nodes and survive a node kill", func(t *testing.T) {
		testClusterMessaging(t, c)
	})

	t.Run("presence spans nodes and a dead node's users go offline", func(t *testing.T) {
		testClusterPresence(t, c)
	})

	t.Run("load balancer routes around a killed node", func(t *testing.T) {
		res, err := client.New(c.LB()).Register(ctx, client.RegisterRequest{Username: "survivor", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		c.kill(2)
		lb := client.New(c.LB(), client.WithToken(res.Token))
		for i := 0; i < 30; i++ {
			if _, err := lb.Me(ctx); err != nil {
				t.Fatalf("request %d through the load balancer with a node down: %v", i, err)
			}
		}
		c.restart(2)
		if _, err := client.New(c.nodes[2].URL(), client.WithToken(res.Token)).Me(ctx); err != nil {
			t.Fatalf("restarted node: %v", err)
		}
	})
}

// clusterUser is one account with a REST client through the load balancer.
type clusterUser struct {
	parley.User
	api *client.Client
}

// session collects the message events of one real-time session.
type session struct {
	name string
	rt   *client.Realtime
	mu   sync.Mutex
	seqs map[string][]int64 // conversation → seqs in arrival order
	ids  map[string][]string
	lost int // "disconnected" events
}

func (s *session) run() {
	for ev := range s.rt.Events() {
		if ev.Type == "disconnected" {
			s.mu.Lock()
			s.lost++
			s.mu.Unlock()
		}
		if ev.Type != "message" || ev.Message == nil {
			continue
		}
		s.mu.Lock()
		s.seqs[ev.ConversationID] = append(s.seqs[ev.ConversationID], ev.Message.Seq)
		s.ids[ev.ConversationID] = append(s.ids[ev.ConversationID], ev.Message.ID)
		s.mu.Unlock()
	}
}

func (s *session) count(conv string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs[conv])
}

func testClusterMessaging(t *testing.T, c *cluster) {
	ctx := clusterCtx(t)
	const nUsers, perConv = 6, 30
	users := make([]clusterUser, nUsers)
	for i := range users {
		// Users are spread over the nodes: each registers on its own node.
		res, err := client.New(c.nodes[i%3].URL()).Register(ctx, client.RegisterRequest{
			Username: fmt.Sprintf("member%d", i), Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		users[i] = clusterUser{User: res.User, api: client.New(c.LB(), client.WithToken(res.Token))}
	}
	var others []string
	for _, u := range users[1:] {
		others = append(others, u.ID)
	}
	// A group of everyone and three direct chats, created through different nodes.
	group, _, err := client.New(c.nodes[0].URL(), client.WithToken(users[0].api.Token())).CreateConversation(ctx,
		client.CreateConversationRequest{Kind: parley.KindGroup, Title: "everyone", MemberIDs: others})
	if err != nil {
		t.Fatal(err)
	}
	convs := []string{group.ID}
	members := map[string][]int{group.ID: {0, 1, 2, 3, 4, 5}}
	for i := 0; i < nUsers; i += 2 {
		d, _, err := client.New(c.nodes[(i/2)%3].URL(), client.WithToken(users[i].api.Token())).CreateConversation(ctx,
			client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{users[i+1].ID}})
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, d.ID)
		members[d.ID] = []int{i, i + 1}
	}

	// Real-time sessions: two devices per user through the load balancer
	// (round robin spreads them over the nodes), plus devices of users 0
	// and 1 connected straight to nodes 0 and 1, which are never killed.
	since := map[string]int64{}
	for _, id := range convs {
		since[id] = 0 // deliver every message from seq 1
	}
	var sessions []*session
	var sessionUser []int
	connect := func(u int, base, name string) {
		cl := client.New(base, client.WithToken(users[u].api.Token()))
		rt, err := cl.Connect(ctx, client.RealtimeOptions{Since: since, MaxBackoff: time.Second})
		if err != nil {
			t.Fatalf("%s: connect: %v", name, err)
		}
		s := &session{name: name, rt: rt, seqs: map[string][]int64{}, ids: map[string][]string{}}
		go s.run()
		t.Cleanup(func() { _ = rt.Close() })
		sessions, sessionUser = append(sessions, s), append(sessionUser, u)
	}
	for device := 0; device < 2; device++ {
		for u := range users {
			connect(u, c.LB(), fmt.Sprintf("user%d device%d via lb", u, device))
		}
	}
	connect(0, c.nodes[0].URL(), "user0 on node0")
	connect(1, c.nodes[1].URL(), "user1 on node1")

	// Every user sends perConv messages into each of their conversations
	// through the load balancer; a failed send is retried with the same
	// client_msg_id until it is acked. Node 2 is killed a third of the way in.
	type ack struct{ conv, client, id string }
	var (
		mu      sync.Mutex
		acks    []ack
		sent    atomic.Int64
		retried atomic.Int64
		killed  sync.Once
	)
	total := 0
	for _, id := range convs {
		total += len(members[id]) * perConv
	}
	var wg sync.WaitGroup
	for ci, conv := range convs {
		for _, u := range members[conv] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perConv; i++ {
					cmid := fmt.Sprintf("u%d-c%d-%d", u, ci, i)
					var m parley.Message
					var err error
					for attempt := 0; attempt < 200; attempt++ {
						m, _, err = users[u].api.Send(ctx, conv, client.SendRequest{ClientMsgID: cmid, Body: "hi " + cmid})
						if err == nil || ctx.Err() != nil {
							break
						}
						retried.Add(1)
						switch parley.ErrorCode(err) {
						case parley.CodeUnavailable, parley.CodeRateLimited, parley.CodeInternal:
						default:
							attempt = 1 << 20 // not worth retrying
						}
						time.Sleep(50 * time.Millisecond)
					}
					if err != nil {
						t.Errorf("send %s never acked: %v", cmid, err)
						return
					}
					mu.Lock()
					acks = append(acks, ack{conv, cmid, m.ID})
					mu.Unlock()
					if sent.Add(1) == int64(total/3) {
						killed.Do(func() { c.kill(2) })
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	killed.Do(func() { c.kill(2) })

	// The history, read through the load balancer, holds every acked
	// message exactly once, with gap-free seqs.
	acked := map[string]string{} // client_msg_id → id
	for _, a := range acks {
		if prev, ok := acked[a.client]; ok && prev != a.id {
			t.Fatalf("client_msg_id %s acked as two messages %s and %s", a.client, prev, a.id)
		}
		acked[a.client] = a.id
	}
	lastSeq := map[string]int64{}
	for _, conv := range convs {
		var all []parley.Message
		for after := int64(0); ; {
			page, err := users[members[conv][0]].api.History(ctx, conv, client.HistoryQuery{After: after, Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			after = page[len(page)-1].Seq
		}
		userMsgs := 0
		for i, m := range all {
			if m.Seq != int64(i+1) {
				t.Fatalf("conversation %s: message %d has seq %d (gap or duplicate)", conv, i, m.Seq)
			}
			if m.Kind == parley.MessageUser {
				userMsgs++
				if acked[m.ClientMsgID] != m.ID {
					t.Fatalf("stored message %s (%s) was not acked as such", m.ID, m.ClientMsgID)
				}
			}
		}
		if want := len(members[conv]) * perConv; userMsgs != want {
			t.Fatalf("conversation %s holds %d user messages, want %d", conv, userMsgs, want)
		}
		lastSeq[conv] = int64(len(all))
	}

	// Every session — including those whose node was killed, which
	// reconnect through the load balancer and resync — receives every
	// message of its conversations exactly once, in seq order.
	deadline := time.Now().Add(60 * time.Second)
	for i, s := range sessions {
		u := sessionUser[i]
		for _, conv := range convs {
			if !contains(members[conv], u) {
				continue
			}
			for s.count(conv) < int(lastSeq[conv]) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			s.mu.Lock()
			seqs := append([]int64(nil), s.seqs[conv]...)
			s.mu.Unlock()
			if len(seqs) != int(lastSeq[conv]) {
				t.Fatalf("%s: %d messages of %s, want %d", s.name, len(seqs), conv, lastSeq[conv])
			}
			for j, seq := range seqs {
				if seq != int64(j+1) {
					t.Fatalf("%s: message %d of %s has seq %d: lost, duplicated or out of order", s.name, j, conv, seq)
				}
			}
		}
	}
	reconnected := 0
	for _, s := range sessions {
		s.mu.Lock()
		if s.lost > 0 {
			reconnected++
		}
		s.mu.Unlock()
	}
	t.Logf("%d messages acked, %d sends retried, %d of %d sessions lost their node and resynced elsewhere",
		len(acks), retried.Load(), reconnected, len(sessions))
	if reconnected == 0 {
		t.Fatal("no session was connected to the killed node: the test proved nothing about failover")
	}
	c.restart(2)
}

// ended waits until a real-time session ends for good because its
// credentials were revoked.
func ended(t *testing.T, rt *client.Realtime, name string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-rt.Events():
			if !ok {
				return
			}
			if ev.Type == "disconnected" && parley.IsCode(ev.Err, parley.CodeUnauthenticated) {
				return
			}
		case <-timeout:
			t.Fatalf("%s: socket still open 30 s after its session was revoked", name)
		}
	}
}

func testClusterRevocation(t *testing.T, c *cluster) {
	ctx := clusterCtx(t)
	// Sign-out through node 0 closes the same session's socket on node 1
	// and only that one.
	res, err := client.New(c.nodes[0].URL()).Register(ctx, client.RegisterRequest{Username: "leaver", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.New(c.nodes[2].URL()).Login(ctx, "leaver", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	rt1, err := client.New(c.nodes[1].URL(), client.WithToken(res.Token)).Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt1.Close()
	rt2, err := client.New(c.nodes[2].URL(), client.WithToken(other.Token)).Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close()
	if err := client.New(c.nodes[0].URL(), client.WithToken(res.Token)).Logout(ctx); err != nil {
		t.Fatal(err)
	}
	ended(t, rt1, "signed-out session on node 1")
	if _, err := rt2.Ping(ctx); err != nil {
		t.Fatalf("the user's other session (node 2) was closed too: %v", err)
	}

	// An admin disabling the account through node 0 ends its remaining
	// session on node 2.
	cmd := exec.Command(c.bin, "admin", "create-admin", "--db", c.DB, "--username", "boss", "--password-stdin")
	cmd.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parley admin create-admin: %v\n%s", err, out)
	}
	boss, err := client.New(c.nodes[0].URL()).Login(ctx, "boss", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(c.nodes[0].URL(), client.WithToken(boss.Token)).DisableUser(ctx, res.User.ID); err != nil {
		t.Fatal(err)
	}
	ended(t, rt2, "session of the disabled account on node 2")
	waitFor(t, "node 1 to refuse the disabled account's token", func() bool {
		_, err := client.New(c.nodes[1].URL(), client.WithToken(other.Token)).Me(ctx)
		return parley.IsCode(err, parley.CodeUnauthenticated)
	})

	// So does `parley admin disable` run on the command line with the
	// cluster's --db and --nats.
	cli, err := client.New(c.nodes[1].URL()).Register(ctx, client.RegisterRequest{Username: "clidisabled", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	rt3, err := client.New(c.nodes[2].URL(), client.WithToken(cli.Token)).Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt3.Close()
	if out, err := exec.Command(c.bin, "admin", "disable", "--db", c.DB, "--nats", c.NATS, "clidisabled").CombinedOutput(); err != nil {
		t.Fatalf("parley admin disable: %v\n%s", err, out)
	}
	ended(t, rt3, "session on node 2 of the account disabled from the command line")
}

// waitEvent returns the first event of rt that matches, failing after 30 s.
func waitEvent(t *testing.T, rt *client.Realtime, what string, match func(client.Event) bool) client.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-rt.Events():
			if !ok {
				t.Fatalf("%s: session ended", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("%s: no such event within 30 s", what)
		}
	}
}

func testClusterEvents(t *testing.T, c *cluster) {
	ctx := clusterCtx(t)
	var rts []*client.Realtime
	var users []parley.User
	var apis []*client.Client
	for i := 0; i < 3; i++ { // user i lives on node i
		res, err := client.New(c.nodes[i].URL()).Register(ctx, client.RegisterRequest{
			Username: fmt.Sprintf("evt%d", i), Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		api := client.New(c.nodes[i].URL(), client.WithToken(res.Token))
		rt, err := api.Connect(ctx, client.RealtimeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Close() })
		rts, users, apis = append(rts, rt), append(users, res.User), append(apis, api)
	}
	// User 0 (node 0) creates a group with user 1 (node 1), then adds user 2
	// (node 2): user 2's socket learns it joined and gets the next message.
	g, _, err := apis[0].CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "x",
		MemberIDs: []string{users[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apis[0].AddMembers(ctx, g.ID, users[2].ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, rts[2], "member_joined on node 2", func(ev client.Event) bool {
		return ev.Type == "member_joined" && ev.ConversationID == g.ID
	})
	m, err := rts[1].SendMessage(ctx, g.ID, parley.NewID(), "from node 1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i += 2 {
		waitEvent(t, rts[i], fmt.Sprintf("message on node %d", i), func(ev client.Event) bool {
			return ev.Type == "message" && ev.Message != nil && ev.Message.ID == m.ID
		})
	}
	// Typing on node 2 and a read receipt on node 0 reach node 1.
	if err := rts[2].Typing(ctx, g.ID, true); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, rts[1], "typing on node 1", func(ev client.Event) bool {
		return ev.Type == "typing" && ev.UserID == users[2].ID && ev.Typing
	})
	if _, err := rts[0].MarkRead(ctx, g.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, rts[1], "receipt on node 1", func(ev client.Event) bool {
		return ev.Type == "receipt" && ev.Receipt != nil && ev.Receipt.UserID == users[0].ID && ev.Receipt.ReadSeq == m.Seq
	})
	// Removing user 2 through node 0 stops its deliveries on node 2.
	if err := apis[0].RemoveMember(ctx, g.ID, users[2].ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, rts[2], "member_left on node 2", func(ev client.Event) bool {
		return ev.Type == "member_left" && ev.ConversationID == g.ID
	})
}

func testClusterPresence(t *testing.T, c *cluster) {
	ctx := clusterCtx(t)
	reg := func(name string, node int) (*client.Client, parley.User) {
		res, err := client.New(c.nodes[node].URL()).Register(ctx, client.RegisterRequest{Username: name, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return client.New(c.nodes[node].URL(), client.WithToken(res.Token)), res.User
	}
	watcherAPI, _ := reg("watcher", 0)
	_, bob := reg("bob", 1)
	if _, _, err := watcherAPI.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect,
		MemberIDs: []string{bob.ID}}); err != nil {
		t.Fatal(err)
	}
	login, err := client.New(c.nodes[1].URL()).Login(ctx, "bob", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	device := func(node int) *client.Realtime {
		rt, err := client.New(c.nodes[node].URL(), client.WithToken(login.Token)).Connect(ctx, client.RealtimeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	watcher, err := watcherAPI.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	st, err := watcher.WatchPresence(ctx, bob.ID)
	if err != nil || len(st) != 1 || st[0].Online {
		t.Fatalf("bob before connecting: %+v %v", st, err)
	}
	presenceIs := func(online bool) func(client.Event) bool {
		return func(ev client.Event) bool {
			return ev.Type == "presence" && ev.Presence != nil && ev.Presence.UserID == bob.ID && ev.Presence.Online == online
		}
	}
	// Bob's devices on nodes 1 and 2: online with the first; still online
	// when the node-1 device leaves; offline when the last one does.
	d1 := device(1)
	waitEvent(t, watcher, "bob online (node 1)", presenceIs(true))
	d2 := device(2)
	_ = d1.Close()
	if st, err := watcher.WatchPresence(ctx, bob.ID); err != nil || !st[0].Online {
		t.Fatalf("bob with a device left on node 2: %+v %v", st, err)
	}
	_ = d2.Close()
	ev := waitEvent(t, watcher, "bob offline", presenceIs(false))
	if ev.Presence.LastSeenAt == nil {
		t.Fatalf("offline without last_seen_at: %+v", ev.Presence)
	}
	// A device on node 2, which then dies: bob goes offline within the
	// presence lease (15 s) plus one heartbeat (5 s).
	d3 := device(2)
	defer d3.Close()
	waitEvent(t, watcher, "bob online (node 2)", presenceIs(true))
	c.kill(2)
	start := time.Now()
	waitEvent(t, watcher, "bob offline after his node died", presenceIs(false))
	t.Logf("a dead node's user went offline after %v", time.Since(start).Round(100*time.Millisecond))
	c.restart(2)
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
