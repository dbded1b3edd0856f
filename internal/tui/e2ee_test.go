package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/e2ee"
	"github.com/parley-chat/parley/client/offline"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestLiveEncryptedConversation: the terminal client opens an encrypted
// direct chat, sends through its outbox, reads the reply of an SDK user
// with a lock, shows a tampered message as "could not decrypt", and
// reports the safety number and a key change.
func TestLiveEncryptedConversation(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, aliceU := env.NewUser(t, "alice")
	bob, bobU := env.NewUser(t, "bob")
	dir := t.TempDir()
	ka, err := alice.EnableE2EE(ctx, e2ee.FileStore{Path: filepath.Join(dir, "keys.json")}, "terminal")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := bob.EnableE2EE(ctx, &e2ee.MemStore{}, "sdk")
	if err != nil {
		t.Fatal(err)
	}
	st, err := offline.Open(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := offline.NewSync(st, alice, offline.SyncOptions{})
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	l := NewLiveE2EE(s, aliceU.ID, ka)
	conv, err := l.OpenEncryptedDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := l.OpenDirect(ctx, "bob"); err != nil || plain == conv {
		t.Fatalf("the plain chat: %q %v", plain, err)
	}
	if err := l.Send(conv, client.SendRequest{Body: "hello from the terminal"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SendOutbox(ctx); n != 1 || err != nil {
		t.Fatalf("SendOutbox: %d %v", n, err)
	}
	got, err := kb.History(ctx, conv, client.HistoryQuery{After: 0, Limit: 10})
	if err != nil || got[len(got)-1].Body != "hello from the terminal" {
		t.Fatalf("bob reads %+v %v", got, err)
	}
	if _, err := kb.Send(ctx, conv, "hello terminal", client.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// A replayed envelope (as a malicious server could store it again).
	ms, _ := bob.History(ctx, conv, client.HistoryQuery{After: 0, Limit: 10})
	last := ms[len(ms)-1]
	if _, _, err := bob.Send(ctx, conv, client.SendRequest{ClientMsgID: parley.NewID(), E2EE: last.E2EE}); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	shown, err := l.Messages(conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range shown {
		if m.Kind == parley.MessageUser {
			bodies = append(bodies, m.Body)
		}
	}
	want := []string{Lock + " hello from the terminal", Lock + " hello terminal", Lock + " could not decrypt: replayed or reordered"}
	if strings.Join(bodies, "|") != strings.Join(want, "|") {
		t.Fatalf("shown %q\nwant  %q", bodies, want)
	}
	// Edit through the encrypted path.
	mine := shown[len(shown)-3]
	if err := l.Edit(ctx, conv, mine.Seq, "hello (edited)"); err != nil {
		t.Fatal(err)
	}
	if got, _ := kb.History(ctx, conv, client.HistoryQuery{After: 0, Limit: 10}); got[1].Body != "hello (edited)" {
		t.Fatalf("bob reads the edit as %q", got[1].Body)
	}
	safety, err := l.Safety(ctx, conv)
	if err != nil || !strings.Contains(safety, "safety number with bob") || strings.Contains(safety, "changed") {
		t.Fatalf("safety: %q %v", safety, err)
	}
	// Bob adds a device: alice sees the warning in /safety.
	b2 := env.Client()
	if _, err := b2.Login(ctx, bobU.Username, apitest.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.EnableE2EE(ctx, &e2ee.MemStore{}, "bob 2"); err != nil {
		t.Fatal(err)
	}
	if err := l.Send(conv, client.SendRequest{Body: "to both of bob's devices"}); err != nil {
		t.Fatal(err)
	}
	if safety, _ := l.Safety(ctx, conv); !strings.Contains(safety, "bob's keys changed") {
		t.Fatalf("no key-change warning: %q", safety)
	}
	if safety, _ := l.Safety(ctx, conv); strings.Contains(safety, "changed") || !strings.Contains(safety, "not verified") {
		t.Fatalf("the warning stays after being shown: %q", safety)
	}
	if _, err := l.Verify(conv); err != nil {
		t.Fatal(err)
	}
	if safety, _ := l.Safety(ctx, conv); !strings.Contains(safety, "verified ✓") {
		t.Fatalf("after /verify: %q", safety)
	}
}
