package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/e2ee"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
	"github.com/parley-chat/parley/internal/server"
)

// e2eeDevice is one signed-in SDK client with its own e2ee device.
type e2eeDevice struct {
	c       *client.Client
	k       *client.E2EE
	user    parley.User
	changed []string
	mu      sync.Mutex
}

func newE2EEDevice(t *testing.T, env *apitest.Env, c *client.Client, u parley.User, name string) *e2eeDevice {
	t.Helper()
	k, err := c.EnableE2EE(context.Background(), &e2ee.MemStore{}, name)
	if err != nil {
		t.Fatal(err)
	}
	d := &e2eeDevice{c: c, k: k, user: u}
	k.OnKeyChange = func(userID string) { d.mu.Lock(); d.changed = append(d.changed, userID); d.mu.Unlock() }
	return d
}

// secondDevice signs u in again (a second session) with a device of its own.
func secondDevice(t *testing.T, env *apitest.Env, u parley.User, name string) *e2eeDevice {
	t.Helper()
	c := env.Client()
	if _, err := c.Login(context.Background(), u.Username, apitest.Password); err != nil {
		t.Fatal(err)
	}
	return newE2EEDevice(t, env, c, u, name)
}

// readDecrypted decrypts the conversation's whole history as d sees it.
func readDecrypted(t *testing.T, d *e2eeDevice, convID string) []client.Decrypted {
	t.Helper()
	ms, err := d.k.History(context.Background(), convID, client.HistoryQuery{After: 0, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func wantText(t *testing.T, d *e2eeDevice, convID string, want ...string) {
	t.Helper()
	var got []string
	for _, m := range readDecrypted(t, d, convID) {
		if m.Kind != parley.MessageUser {
			continue
		}
		if m.Err != nil {
			got = append(got, m.Status())
		} else {
			got = append(got, m.Body)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s's device sees %q, want %q", d.user.Username, got, want)
	}
}

const canary = "a plain canary the scan must find"

// e2eeScenario runs the exchange against env and returns the
// plaintexts that must never reach the server.
func e2eeScenario(t *testing.T, env *apitest.Env) []string {
	ctx := context.Background()
	ac, alice := env.NewUser(t, "alice")
	bc, bob := env.NewUser(t, "bob")
	cc, carol := env.NewUser(t, "carol")
	a1 := newE2EEDevice(t, env, ac, alice, "alice laptop")
	a2 := secondDevice(t, env, alice, "alice phone")
	b1 := newE2EEDevice(t, env, bc, bob, "bob laptop")
	b2 := secondDevice(t, env, bob, "bob phone")
	c1 := newE2EEDevice(t, env, cc, carol, "carol")

	// A plain and an encrypted direct chat of the same pair coexist.
	plain, _, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	dm, created, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bob.ID}, Encrypted: true})
	if err != nil || !created || !dm.Encrypted || dm.ID == plain.ID {
		t.Fatalf("encrypted direct chat: %+v %v %v", dm, created, err)
	}
	if again, created, _ := bc.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{alice.ID}, Encrypted: true}); created || again.ID != dm.ID {
		t.Fatal("a second encrypted direct chat of the same pair")
	}
	// Plaintext into an encrypted conversation, and an envelope into a plain one, are refused.
	if _, _, err := ac.Send(ctx, dm.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: "in clear"}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("plaintext into an encrypted conversation: %v", err)
	}
	if _, err := a1.k.Send(ctx, plain.ID, "x", client.SendOptions{}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("encrypting for a plain conversation: %v", err)
	}
	if _, _, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel, Title: "c", Encrypted: true}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("encrypted channel: %v", err)
	}

	// The canary goes to the plain chat: the scans must find it, which
	// shows they can find text at all.
	if _, _, err := ac.Send(ctx, plain.ID, client.SendRequest{ClientMsgID: parley.NewID(), Body: canary}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"Sphinx of black quartz, judge my vow", "The quick brown fox jumps over the lazy dog",
		"Pack my box with five dozen liquor jugs", "How vexingly quick daft zebras jump", "Bright vixens jump; dozy fowl quack",
		"Jackdaws love my big sphinx of quartz"}
	if _, err := a1.k.Send(ctx, dm.ID, secrets[0], client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.k.Send(ctx, dm.ID, secrets[1], client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.k.Send(ctx, dm.ID, secrets[2], client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*e2eeDevice{a1, a2, b1, b2} {
		wantText(t, d, dm.ID, secrets[0], secrets[1], secrets[2])
		wantText(t, d, dm.ID, secrets[0], secrets[1], secrets[2]) // again: from the local cache
	}
	// An edit carries a new envelope.
	hist := readDecrypted(t, b1, dm.ID)
	last := hist[len(hist)-1]
	if _, err := a2.k.Edit(ctx, dm.ID, last.Seq, last.ID, secrets[2]+" (edited)"); err != nil {
		t.Fatal(err)
	}
	wantText(t, b1, dm.ID, secrets[0], secrets[1], secrets[2]+" (edited)")

	// A replayed envelope (sent again by a malicious server or client) is
	// reported, never shown.
	m0 := readDecrypted(t, b1, dm.ID)[1]
	replay := m0.Message
	replay.ID, replay.Seq = parley.NewID(), 99
	if r := b1.k.Decrypt(ctx, replay); !errors.Is(r.Err, e2ee.ErrReplay) || r.Body != "" {
		t.Fatalf("replay: %v %q", r.Err, r.Body)
	}
	forged := m0.Message
	forged.ID, forged.E2EE = parley.NewID(), bytes.Replace(m0.E2EE, []byte(`"ct":"`), []byte(`"ct":"AAAA`), -1)
	if r := b1.k.Decrypt(ctx, forged); r.Err == nil || r.Body != "" {
		t.Fatalf("forged: %v %q", r.Err, r.Body)
	}
	truncated := m0.Message
	truncated.ID, truncated.E2EE = parley.NewID(), m0.E2EE[:len(m0.E2EE)/2]
	if r := b1.k.Decrypt(ctx, truncated); !errors.Is(r.Err, e2ee.ErrTruncated) {
		t.Fatalf("truncated: %v", r.Err)
	}

	// Group: alice, bob, carol; carol is removed; her device cannot read what follows.
	other, _, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "plain",
		MemberIDs: []string{bob.ID, carol.ID}})
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	g, _, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "secret",
		MemberIDs: []string{bob.ID, carol.ID}, Encrypted: true})
	if err != nil || !g.Encrypted {
		t.Fatal(err)
	}
	if _, err := a1.k.Send(ctx, g.ID, secrets[3], client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.k.Send(ctx, g.ID, secrets[4], client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*e2eeDevice{a1, a2, b1, b2, c1} {
		wantText(t, d, g.ID, secrets[3], secrets[4])
	}
	if err := ac.RemoveMember(ctx, g.ID, carol.ID); err != nil {
		t.Fatal(err)
	}
	after, err := a1.k.Send(ctx, g.ID, secrets[5], client.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*e2eeDevice{a2, b1, b2} {
		wantText(t, d, g.ID, secrets[3], secrets[4], secrets[5])
	}
	if r := c1.k.Decrypt(ctx, after.Message); !errors.Is(r.Err, e2ee.ErrNoKey) || r.Body != "" {
		t.Fatalf("the removed member's device: %v %q", r.Err, r.Body)
	}
	var env2 parley.Envelope
	if err := json.Unmarshal(after.E2EE, &env2); err != nil {
		t.Fatal(err)
	}
	for _, r := range env2.Recipients {
		if r.Device == c1.k.DeviceID() {
			t.Fatal("the rotated sender key went to the removed member")
		}
	}

	// A new device of bob: alice is warned at her next send, and the new
	// device reads what is sent from then on (not what came before).
	b3 := secondDevice(t, env, bob, "bob tablet")
	if _, err := a1.k.Send(ctx, dm.ID, "after the new device", client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	a1.mu.Lock()
	warned := strings.Join(a1.changed, ",")
	a1.mu.Unlock()
	if !strings.Contains(warned, bob.ID) {
		t.Fatalf("no key-change warning for bob: %q", warned)
	}
	if changed, _ := a1.k.KeyChanged(bob.ID); !changed {
		t.Fatal("KeyChanged is false")
	}
	got := readDecrypted(t, b3, dm.ID)
	if n := len(got); got[n-1].Body != "after the new device" || !errors.Is(got[n-2].Err, e2ee.ErrNoKey) {
		t.Fatalf("new device sees %q / %v", got[n-1].Body, got[n-2].Err)
	}
	// Safety numbers agree on both sides.
	sa, err := a1.k.SafetyNumber(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b1.k.SafetyNumber(ctx, alice.ID)
	if err != nil || sa != sb || len(sa) != 60 {
		t.Fatalf("safety numbers %s %s %v", sa, sb, err)
	}
	// Key backup and restore on a fresh install of alice's first device.
	if err := a1.k.Backup(ctx, "a long passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.RestoreE2EE(ctx, &e2ee.MemStore{}, "wrong passphrase"); !errors.Is(err, e2ee.ErrPassphrase) {
		t.Fatalf("restore with a wrong passphrase: %v", err)
	}
	r, err := ac.RestoreE2EE(ctx, &e2ee.MemStore{}, "a long passphrase")
	if err != nil || r.DeviceID() != a1.k.DeviceID() {
		t.Fatalf("restore: %v", err)
	}
	// An encrypted file: uploaded as an opaque blob, bound to the message,
	// fetched and decrypted by the recipient; a plaintext upload is refused.
	fileText := "Waltz, bad nymph, for quick jigs vex"
	att, err := a1.k.UploadFile(ctx, "note.txt", "text/plain", []byte(fileText))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a1.k.Send(ctx, dm.ID, "Quick zephyrs blow, vexing daft Jim", client.SendOptions{Attachments: []e2ee.Attachment{att}}); err != nil {
		t.Fatal(err)
	}
	hist = readDecrypted(t, b1, dm.ID)
	got0 := hist[len(hist)-1]
	if got0.Body != "Quick zephyrs blow, vexing daft Jim" || len(got0.Attachments) != 1 || got0.Attachments[0].Name != "note.txt" {
		t.Fatalf("file message %+v", got0)
	}
	if len(got0.Message.Attachments) != 1 || got0.Message.Attachments[0].MIME != "application/octet-stream" ||
		got0.Message.Attachments[0].Name != "encrypted.bin" {
		t.Fatalf("the server sees %+v", got0.Message.Attachments)
	}
	data, err := b1.k.FetchFile(ctx, got0.Attachments[0])
	if err != nil || string(data) != fileText {
		t.Fatalf("fetched %q %v", data, err)
	}
	tampered := got0.Attachments[0]
	tampered.Key = make([]byte, 32)
	if _, err := b1.k.FetchFile(ctx, tampered); !errors.Is(err, e2ee.ErrForged) {
		t.Fatalf("wrong key: %v", err)
	}
	clear, err := ac.Upload(ctx, "clear.txt", strings.NewReader("plain words in a plain file"), 27)
	if err != nil {
		t.Fatal(err)
	}
	req, err := a1.k.EncryptRequest(ctx, dm.ID, client.SendRequest{Body: "with a plaintext file"})
	if err != nil {
		t.Fatal(err)
	}
	req.AttachmentIDs = []string{clear.ID}
	if _, _, err := ac.Send(ctx, dm.ID, req); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("a plaintext file in an encrypted message: %v", err)
	}
	return append(secrets, "after the new device", "(edited)", fileText, "Quick zephyrs blow, vexing daft Jim")
}

// TestE2EEConversationsSQLite: two users with two devices each and a
// three-person group exchange encrypted messages through the SDK; then no
// plaintext is found anywhere in the data directory's bytes (database, WAL,
// search index).
func TestE2EEConversationsSQLite(t *testing.T) {
	env := apitest.Start(t, nil)
	secrets := e2eeScenario(t, env)
	env.Stop()
	found, canaries := false, 0
	err := filepath.WalkDir(env.Config.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found = true
		canaries += bytes.Count(b, []byte(canary))
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("plaintext %q found in %s", s, p)
			}
		}
		return nil
	})
	if err != nil || !found || canaries == 0 {
		t.Fatalf("scan: %v (files found: %v, canaries: %d)", err, found, canaries)
	}
}

// TestE2EEConversationsPostgres: the same exchange on PostgreSQL; no row of
// any table holds a plaintext.
func TestE2EEConversationsPostgres(t *testing.T) {
	url := pgtest.Schema(t)
	env := apitest.Start(t, func(c *server.Config) { c.DB = url })
	secrets := e2eeScenario(t, env)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ConnURL(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables %v %v", tables, err)
	}
	scanned, canaries := 0, 0
	for _, tb := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{tb}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range texts {
			scanned++
			canaries += strings.Count(row, canary)
			for _, s := range secrets {
				if strings.Contains(row, s) {
					t.Errorf("plaintext %q in table %s", s, tb)
				}
			}
		}
	}
	if scanned == 0 || canaries == 0 {
		t.Fatalf("%d rows scanned, %d canaries found", scanned, canaries)
	}
}

// nextEvent returns the next event of type typ (skipping others), or fails
// the test when the stream ends or ctx is done.
func nextEvent(ctx context.Context, t *testing.T, rt *client.Realtime, typ string) client.Event {
	t.Helper()
	for {
		select {
		case ev, ok := <-rt.Events():
			if !ok {
				t.Fatalf("event stream ended waiting for %s", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", typ)
		}
	}
}

// TestE2EEOverWebSocket: an encrypted send over the socket arrives as a
// message event carrying the envelope, which the receiver decrypts; a
// plaintext send there is refused; a new device of the peer arrives as an
// e2ee_devices event, which the SDK turns into a key-change warning.
func TestE2EEOverWebSocket(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ac, alice := env.NewUser(t, "alice")
	bc, bob := env.NewUser(t, "bob")
	a := newE2EEDevice(t, env, ac, alice, "a")
	b := newE2EEDevice(t, env, bc, bob, "b")
	dm, _, err := ac.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bob.ID}, Encrypted: true})
	if err != nil {
		t.Fatal(err)
	}
	art, err := ac.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer art.Close()
	brt, err := bc.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer brt.Close()
	nextEvent(ctx, t, art, "connected")
	nextEvent(ctx, t, brt, "connected")
	req, err := a.k.EncryptRequest(ctx, dm.ID, client.SendRequest{Body: "over the socket"})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := art.Send(ctx, dm.ID, req)
	if err != nil || sent.Body != "" || sent.E2EE == nil {
		t.Fatalf("ack %+v %v", sent, err)
	}
	if own := a.k.Decrypt(ctx, sent); own.Body != "over the socket" {
		t.Fatalf("the sender's own message: %q %v", own.Body, own.Err)
	}
	ev := nextEvent(ctx, t, brt, "message")
	if got := b.k.Decrypt(ctx, *ev.Message); got.Err != nil || got.Body != "over the socket" {
		t.Fatalf("bob decrypts %q %v", got.Body, got.Err)
	}
	if _, err := art.Send(ctx, dm.ID, client.SendRequest{Body: "in clear"}); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("plaintext over the socket: %v", err)
	}
	secondDevice(t, env, bob, "bob 2")
	ev = nextEvent(ctx, t, art, string(parley.EventE2EEDevices))
	if ev.UserID != bob.ID {
		t.Fatalf("e2ee_devices for %q", ev.UserID)
	}
	a.k.HandleEvent(ctx, ev)
	if changed, _ := a.k.KeyChanged(bob.ID); !changed {
		t.Fatal("no key change after bob's new device")
	}
}
