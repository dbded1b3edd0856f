package offline_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
	"github.com/parley-chat/parley/internal/apitest"
)

// waitFor polls cond (every 20ms, up to 20s) and fails the test with what
// on timeout. Polling, not timing: nothing here asserts how fast.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running is one client process: a store file and its Sync.
type running struct {
	st     *offline.Store
	sync   *offline.Sync
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, env *apitest.Env, base, token, path string) *running {
	t.Helper()
	st, err := offline.Open(path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	c := client.New(base, client.WithHTTPClient(env.HTTPClient()), client.WithToken(token))
	s := offline.NewSync(st, c, offline.SyncOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Realtime: client.RealtimeOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{st: st, sync: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop ends the process state: Run returns and the file is closed.
func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.st.Close()
	r.cancel = nil
}

func serverHistory(t *testing.T, c *client.Client, conv string) []parley.Message {
	t.Helper()
	var all []parley.Message
	after := int64(0)
	for {
		ms, err := c.History(context.Background(), conv, client.HistoryQuery{After: after, Limit: 200})
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if len(ms) == 0 {
			return all
		}
		all = append(all, ms...)
		after = ms[len(ms)-1].Seq
	}
}

func jsonOf(t *testing.T, ms []parley.Message) string {
	t.Helper()
	b, err := json.MarshalIndent(ms, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOfflineComposeRestartReconnect is the store's promise: go offline,
// compose, restart the client on the same file, reconnect → every message
// stored by the server exactly once, and the local history identical to
// the server's (edits and reactions made meanwhile included).
func TestOfflineComposeRestartReconnect(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	conv, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var firstSeq int64
	for i := range 3 {
		m, _, err := bob.Send(ctx, conv.ID, client.SendRequest{Body: "before " + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstSeq = m.Seq
		}
	}
	proxy := apitest.NewCutProxy(t, strings.TrimPrefix(env.URL, "http://"))
	path := filepath.Join(t.TempDir(), "alice.db")

	r := start(t, env, proxy.URL(), alice.Token(), path)
	lastSeq := func() int64 {
		e, err := bob.ConversationEntry(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.LastSeq
	}
	waitFor(t, "first sync", func() bool {
		c, err := r.st.Conversation(conv.ID)
		return err == nil && c.HaveSeq == lastSeq() && r.sync.Status().State == offline.Online
	})
	// A live message arrives through the session.
	if _, _, err := bob.Send(ctx, conv.ID, client.SendRequest{Body: "live"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live message", func() bool { c, _ := r.st.Conversation(conv.ID); return c.HaveSeq == lastSeq() })
	// The device reports what it holds as delivered; bob sees it.
	waitFor(t, "alice's delivered receipt", func() bool {
		rs, err := bob.Receipts(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.UserID != bobU.ID {
				return r.DeliveredSeq == lastSeq() && r.ReadSeq == 0
			}
		}
		return false
	})

	// Offline: the link is cut; reading and composing go on.
	proxy.Down()
	waitFor(t, "offline state", func() bool { return r.sync.Status().State != offline.Online })
	before, err := r.st.Messages(conv.ID, 0, 100)
	if err != nil || len(before) != int(lastSeq()) {
		t.Fatalf("offline read: %d messages, %v; want %d", len(before), err, lastSeq())
	}
	var composed []offline.Outbound
	for _, body := range []string{"offline one", "offline two\nwith a second line", "offline three"} {
		o, err := r.sync.Send(conv.ID, client.SendRequest{Body: body})
		if err != nil {
			t.Fatalf("compose offline: %v", err)
		}
		composed = append(composed, o)
	}
	// Meanwhile bob writes, edits and reacts.
	m5, _, err := bob.Send(ctx, conv.ID, client.SendRequest{Body: "while you were away"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.EditMessage(ctx, conv.ID, firstSeq, "before a (edited)"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.React(ctx, conv.ID, m5.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	// The first entry reached the server but the client died before it
	// learned so (as if the ack was lost): it must not be stored twice.
	if _, _, err := alice.Send(ctx, conv.ID, client.SendRequest{ClientMsgID: composed[0].ClientMsgID, Body: composed[0].Body}); err != nil {
		t.Fatal(err)
	}
	if ob, _ := r.st.Outbox(conv.ID); len(ob) != 3 {
		t.Fatalf("outbox holds %d entries offline, want 3", len(ob))
	}
	readMark := before[len(before)-1].Seq
	if err := r.sync.MarkRead(conv.ID, readMark); err != nil {
		t.Fatal(err)
	}
	if err := r.sync.MarkRead("01m96kty7rw4zekn5ajmk6gdhg", 1); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("MarkRead of an unknown conversation: %v, want not_found", err)
	}

	// Restart: new process state on the same file, then the link returns.
	r.stop()
	r2 := start(t, env, proxy.URL(), alice.Token(), path)
	if ob, _ := r2.st.Outbox(""); len(ob) != 3 {
		t.Fatalf("outbox after restart holds %d entries, want 3", len(ob))
	}
	proxy.Up()
	waitFor(t, "outbox drained and resynced", func() bool {
		ob, _ := r2.st.Outbox("")
		c, _ := r2.st.Conversation(conv.ID)
		return len(ob) == 0 && c.HaveSeq == lastSeq()
	})
	waitFor(t, "the offline read mark on the server", func() bool {
		e, err := alice.ConversationEntry(ctx, conv.ID)
		return err == nil && e.Self.ReadSeq == readMark
	})
	server := serverHistory(t, alice, conv.ID)
	count := map[string]int{}
	for _, m := range server {
		count[m.Body]++
	}
	for _, o := range composed {
		if count[o.Body] != 1 {
			t.Errorf("%q stored %d times on the server, want exactly once", o.Body, count[o.Body])
		}
	}
	waitFor(t, "local history identical to the server's", func() bool {
		local, _ := r2.st.Messages(conv.ID, 0, 1000)
		return jsonOf(t, local) == jsonOf(t, serverHistory(t, alice, conv.ID))
	})

	// Live again: an edit arrives as an event; a message sent now goes at once.
	if _, err := bob.EditMessage(ctx, conv.ID, m5.Seq, "edited live"); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.sync.Send(conv.ID, client.SendRequest{Body: "online now"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live edit and online send", func() bool {
		m, err := r2.st.Message(conv.ID, m5.Seq)
		ob, _ := r2.st.Outbox("")
		return err == nil && m.Body == "edited live" && len(ob) == 0
	})
	waitFor(t, "history identical after live changes", func() bool {
		local, _ := r2.st.Messages(conv.ID, 0, 1000)
		return jsonOf(t, local) == jsonOf(t, serverHistory(t, alice, conv.ID))
	})

	// Added to a group while the link is down (the session reconnects by
	// itself): the group arrives with its details, members and history.
	proxy.Down()
	waitFor(t, "offline again", func() bool { return r2.sync.Status().State != offline.Online })
	carol, _ := env.NewUser(t, "carol")
	me, _ := alice.Me(ctx)
	group, _, err := carol.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "Lunch",
		MemberIDs: []string{me.ID, bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"noon?", "sure"} {
		if _, _, err := carol.Send(ctx, group.ID, client.SendRequest{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	proxy.Up()
	waitFor(t, "the group joined while offline", func() bool {
		c, err := r2.st.Conversation(group.ID)
		return err == nil && c.Title == "Lunch" && len(c.MemberIDs) == 3 && c.HaveSeq == c.LastSeq && c.Unread == 2
	})
	local, _ := r2.st.Messages(group.ID, 0, 100)
	if jsonOf(t, local) != jsonOf(t, serverHistory(t, alice, group.ID)) {
		t.Errorf("group history differs:\nlocal %s\nserver %s", jsonOf(t, local), jsonOf(t, serverHistory(t, alice, group.ID)))
	}
}

// TestOutboxRefusals: a message the server refuses with a typed error is
// marked failed with that error and not resent by itself; the rest of the
// outbox goes on. A transient failure leaves the entry pending.
func TestOutboxRefusals(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, _ := env.NewUser(t, "alice")
	_, bobU := env.NewUser(t, "bob")
	carol, _ := env.NewUser(t, "carol")
	conv, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	// A conversation alice is not in: someone else's id.
	other, _, err := carol.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "private"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := offline.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := offline.NewSync(st, alice, offline.SyncOptions{})
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	// Bad compositions never reach the outbox.
	for _, tc := range []struct {
		conv string
		req  client.SendRequest
		code parley.Code
	}{
		{conv.ID, client.SendRequest{Body: "  \n"}, parley.CodeInvalid},
		{"not an id", client.SendRequest{Body: "x"}, parley.CodeInvalid},
		{conv.ID, client.SendRequest{Body: "x", ReplyTo: -1}, parley.CodeInvalid},
	} {
		if _, err := st.Compose(tc.conv, tc.req); parley.ErrorCode(err) != tc.code {
			t.Errorf("Compose(%q, %+v) = %v, want %s", tc.conv, tc.req, err, tc.code)
		}
	}
	dup, err := st.Compose(conv.ID, client.SendRequest{Body: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Compose(conv.ID, client.SendRequest{ClientMsgID: dup.ClientMsgID, Body: "again"}); !parley.IsCode(err, parley.CodeConflict) {
		t.Errorf("composing a used client_msg_id: %v, want conflict", err)
	}
	tooLong, _ := st.Compose(conv.ID, client.SendRequest{Body: strings.Repeat("x", 100_000)})
	notMine, _ := st.Compose(other.ID, client.SendRequest{Body: "let me in"})
	badReply, _ := st.Compose(conv.ID, client.SendRequest{Body: "re: nothing", ReplyTo: 999})
	last, _ := st.Compose(conv.ID, client.SendRequest{Body: "last"})

	n, err := s.SendOutbox(ctx)
	if err != nil || n != 2 {
		t.Fatalf("SendOutbox = %d, %v; want 2 sent, no error", n, err)
	}
	ob, _ := st.Outbox("")
	want := map[string]parley.Code{tooLong.ClientMsgID: parley.CodeTooLarge, notMine.ClientMsgID: parley.CodeNotFound,
		badReply.ClientMsgID: parley.CodeInvalid}
	if len(ob) != len(want) {
		t.Fatalf("outbox holds %d entries, want %d failed: %+v", len(ob), len(want), ob)
	}
	for _, o := range ob {
		if o.State != offline.Failed || o.Err == nil || o.Err.Code != want[o.ClientMsgID] || o.Attempts != 1 {
			t.Errorf("entry %q: state %s, err %v, attempts %d; want failed with %s after 1 attempt",
				o.Body[:min(len(o.Body), 12)], o.State, o.Err, o.Attempts, want[o.ClientMsgID])
		}
	}
	// Not retried by itself.
	if n, err := s.SendOutbox(ctx); n != 0 || err != nil {
		t.Fatalf("second SendOutbox = %d, %v", n, err)
	}
	ob, _ = st.Outbox("")
	for _, o := range ob {
		if o.Attempts != 1 {
			t.Errorf("failed entry retried: %d attempts", o.Attempts)
		}
	}
	// Retry on request: same client_msg_id, fails again the same way; Discard drops it.
	if err := st.Retry(badReply.ClientMsgID); err != nil {
		t.Fatal(err)
	}
	_, _ = s.SendOutbox(ctx)
	ob, _ = st.Outbox(conv.ID)
	for _, o := range ob {
		if o.ClientMsgID == badReply.ClientMsgID && (o.Attempts != 2 || o.State != offline.Failed) {
			t.Errorf("retried entry: %d attempts, %s", o.Attempts, o.State)
		}
	}
	for _, id := range []string{tooLong.ClientMsgID, notMine.ClientMsgID, badReply.ClientMsgID} {
		if err := st.Discard(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Discard(badReply.ClientMsgID); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("discarding twice: %v, want not_found", err)
	}
	if err := st.Retry("nope"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("retrying an unknown entry: %v, want not_found", err)
	}
	// Sent ones are in the local history once, in server order.
	local, _ := st.Messages(conv.ID, 0, 100)
	server := serverHistory(t, alice, conv.ID)
	if jsonOf(t, local) != jsonOf(t, server) {
		t.Errorf("local history differs from the server's:\nlocal %s\nserver %s", jsonOf(t, local), jsonOf(t, server))
	}
	_ = last

	// A store bound to another account: Run stops with conflict instead of retrying.
	foreign, err := offline.Open(filepath.Join(t.TempDir(), "foreign.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	if err := foreign.Bind(alice.BaseURL(), "01m96kty7rw4zekn5ajmk6gdhg"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := offline.NewSync(foreign, alice, offline.SyncOptions{}).Run(rctx); !parley.IsCode(err, parley.CodeConflict) {
		t.Errorf("Run on another account's store: %v, want conflict", err)
	}

	// Transient: the server unreachable leaves the entry pending.
	dead := client.New("http://127.0.0.1:1", client.WithToken(alice.Token()))
	s2 := offline.NewSync(st, dead, offline.SyncOptions{})
	o, _ := st.Compose(conv.ID, client.SendRequest{Body: "later"})
	if _, err := s2.SendOutbox(ctx); !parley.IsCode(err, parley.CodeUnavailable) {
		t.Fatalf("SendOutbox unreachable: %v, want unavailable", err)
	}
	ob, _ = st.Outbox("")
	if len(ob) != 1 || ob[0].ClientMsgID != o.ClientMsgID || ob[0].State != offline.Pending {
		t.Fatalf("after a transient failure: %+v", ob)
	}
}

// TestStoreFileRefusals: a damaged or foreign file is refused with a typed
// error and left as it was.
func TestStoreFileRefusals(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	junk := []byte(strings.Repeat("this is not a database ", 400))
	if err := os.WriteFile(garbage, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := offline.Open(garbage); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("Open(garbage) = %v, want invalid", err)
	}
	if b, _ := os.ReadFile(garbage); string(b) != string(junk) {
		t.Fatal("a refused file was modified")
	}
	if _, err := offline.Open(""); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("Open(\"\") = %v, want invalid", err)
	}
	// A store whose pages were damaged after it was written.
	good := filepath.Join(dir, "good.db")
	st, err := offline.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Bind("http://a", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Bind("http://a", "u2"); !parley.IsCode(err, parley.CodeConflict) {
		t.Errorf("binding another account: %v, want conflict", err)
	}
	if err := st.SetMeta("schema", "99"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := offline.Open(good); !parley.IsCode(err, parley.CodeConflict) {
		t.Errorf("Open(newer schema) = %v, want conflict", err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < len(b); i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(good, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(good + "-wal")
	if _, err := offline.Open(good); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("Open(damaged) = %v, want invalid", err)
	}
}

// TestStoreUpgradesSchema1: a store written by schema version 1 (no
// messages.counts) opens, and its unread counts are right.
func TestStoreUpgradesSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(seq int, kind parley.MessageKind, deleted bool) string {
		b, _ := json.Marshal(parley.Message{ID: fmt.Sprint("m", seq), ConversationID: "c1", Seq: int64(seq), SenderID: "bob",
			Kind: kind, Body: "x", Deleted: deleted})
		return string(b)
	}
	for _, q := range []string{
		`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`INSERT INTO meta VALUES ('schema', '1'), ('user_id', 'me')`,
		`CREATE TABLE conversations (id TEXT PRIMARY KEY, data TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
			last_at TEXT NOT NULL DEFAULT '', have_seq INTEGER NOT NULL DEFAULT 0, read_seq INTEGER NOT NULL DEFAULT 0,
			read_sent INTEGER NOT NULL DEFAULT 0, delivered_seq INTEGER NOT NULL DEFAULT 0, muted INTEGER NOT NULL DEFAULT 0,
			member_ids TEXT NOT NULL DEFAULT '[]', gone INTEGER NOT NULL DEFAULT 0)`,
		`INSERT INTO conversations (id, data, last_seq, have_seq) VALUES ('c1', '{"id":"c1"}', 3, 3)`,
		`CREATE TABLE messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, sender_id TEXT NOT NULL,
			client_msg_id TEXT NOT NULL DEFAULT '', data TEXT NOT NULL, PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID`,
		`INSERT INTO messages (conversation_id, seq, id, sender_id, data) VALUES ('c1', 1, 'm1', 'bob', '` + msg(1, parley.MessageSystem, false) + `'),
			('c1', 2, 'm2', 'bob', '` + msg(2, parley.MessageUser, false) + `'), ('c1', 3, 'm3', 'bob', '` + msg(3, parley.MessageUser, true) + `')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	st, err := offline.Open(path)
	if err != nil {
		t.Fatalf("open a version 1 store: %v", err)
	}
	defer st.Close()
	c, err := st.Conversation("c1")
	if err != nil || c.Unread != 1 {
		t.Fatalf("unread after the upgrade: %d (%v), want 1 (the system message and the tombstone do not count)", c.Unread, err)
	}
	if v, _ := st.Meta("schema"); v != "3" {
		t.Errorf("schema after the upgrade: %q", v)
	}
}
