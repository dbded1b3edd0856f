package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/backup"
	"github.com/parley-chat/parley/internal/server"
)

// TestBackupOfARunningNodeUnderLoad takes a backup of a running SQLite node
// while clients keep sending messages and files, restores it into a new
// data directory, starts a node there and checks that every message acked
// before the backup began is in the history (same id, same seq), that the
// history has no gaps, and that every file sent before the backup downloads
// with the same bytes.
func TestBackupOfARunningNodeUnderLoad(t *testing.T) {
	ctx := context.Background()
	env := apitest.Start(t, func(c *server.Config) { c.SendRate = 10000 })
	const senders = 4
	type sender struct {
		c    *client.Client
		conv string
		mu   sync.Mutex
		ack  map[int64]string // seq → message id
	}
	var ss []*sender
	var tokens []string
	for i := range senders {
		c, _ := env.NewUser(t, fmt.Sprintf("sender%d", i))
		ss = append(ss, &sender{c: c, conv: newGroup(t, c, fmt.Sprintf("g%d", i)).ID, ack: map[int64]string{}})
		tokens = append(tokens, c.Token())
	}
	// Files sent before the backup.
	files := map[string][]byte{} // attachment id → content
	for i := range 3 {
		body := make([]byte, 100_000+i*70_000)
		_, _ = rand.Read(body)
		a, err := ss[0].c.Upload(ctx, fmt.Sprintf("f%d.bin", i), bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := ss[0].c.Send(ctx, ss[0].conv, client.SendRequest{ClientMsgID: fmt.Sprintf("file-%d", i), AttachmentIDs: []string{a.ID}})
		if err != nil {
			t.Fatal(err)
		}
		ss[0].ack[m.Seq] = m.ID
		files[a.ID] = body
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent atomic.Int64
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				req := client.SendRequest{ClientMsgID: fmt.Sprintf("load-%d-%d", i, n), Body: fmt.Sprintf("message %d of %d", n, i)}
				if i == 1 && n%20 == 0 { // some files during the backup too
					a, err := s.c.Upload(ctx, "during.txt", bytes.NewReader([]byte(req.Body)), int64(len(req.Body)))
					if err != nil {
						t.Errorf("upload: %v", err)
						return
					}
					req.AttachmentIDs = []string{a.ID}
				}
				m, _, err := s.c.Send(ctx, s.conv, req)
				if err != nil {
					t.Errorf("send: %v", err)
					return
				}
				s.mu.Lock()
				s.ack[m.Seq] = m.ID
				s.mu.Unlock()
				sent.Add(1)
			}
		}()
	}
	for sent.Load() < 200 { // load under way
		if t.Failed() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every message acked by now must be in the backup.
	before := make([]map[int64]string, senders)
	for i, s := range ss {
		s.mu.Lock()
		before[i] = maps.Clone(s.ack)
		s.mu.Unlock()
	}
	archive := filepath.Join(t.TempDir(), "parley.tar.gz")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	m, err := backup.Create(ctx, env.Config.DataDir, f, backup.Options{Gzip: true, Version: server.Version, TempDir: t.TempDir()})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	atSnapshot := sent.Load()
	for sent.Load() < atSnapshot+100 && !t.Failed() { // and the load goes on after it
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup of a running node: %v", err)
	}
	if !m.HasKey() || len(m.Files) < 2+len(files) {
		t.Fatalf("manifest lacks files: %+v", m)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := backup.Restore(ctx, archive, dir, false); err != nil {
		t.Fatalf("restore: %v", err)
	}
	env2 := apitest.Start(t, func(c *server.Config) { c.DataDir = dir })
	for i, s := range ss {
		c := env2.Client(client.WithToken(tokens[i]))
		var hist []parley.Message
		for after := int64(0); ; {
			page, err := c.History(ctx, s.conv, client.HistoryQuery{After: after, Limit: 200})
			if err != nil {
				t.Fatalf("history on the restored node: %v", err)
			}
			if len(page) == 0 {
				break
			}
			hist = append(hist, page...)
			after = page[len(page)-1].Seq
		}
		got := map[int64]string{}
		for j, msg := range hist {
			if msg.Seq != int64(j+1) {
				t.Fatalf("sender %d: restored history has a gap: position %d holds seq %d", i, j, msg.Seq)
			}
			got[msg.Seq] = msg.ID
		}
		for seq, id := range before[i] {
			if got[seq] != id {
				t.Errorf("sender %d: message seq %d (%s) acked before the backup is missing after restore (got %q)", i, seq, id, got[seq])
			}
		}
		t.Logf("sender %d: %d acked before the backup, %d in the restored history", i, len(before[i]), len(hist))
	}
	c := env2.Client(client.WithToken(tokens[0]))
	for id, want := range files {
		d, err := c.Fetch(ctx, id, client.FetchOptions{})
		if err != nil {
			t.Fatalf("file %s on the restored node: %v", id, err)
		}
		got, err := io.ReadAll(d.Body)
		d.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("file %s: %d bytes back (err %v), want the %d sent", id, len(got), err, len(want))
		}
	}
}
