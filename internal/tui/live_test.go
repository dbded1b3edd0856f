package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
	"github.com/parley-chat/parley/internal/apitest"
)

// TestLiveBackend runs the network side of the Backend against a real
// server: open a direct chat by username, upload and download a file,
// edit, react, and the refusals of each.
func TestLiveBackend(t *testing.T) {
	env := apitest.Start(t, nil)
	ctx := context.Background()
	alice, aliceU := env.NewUser(t, "alice")
	bob, _ := env.NewUser(t, "bob")
	st, err := offline.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := offline.NewSync(st, alice, offline.SyncOptions{})
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	l := NewLive(s, aliceU.ID)

	if _, err := l.OpenDirect(ctx, "nobody"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("OpenDirect(nobody) = %v, want not_found", err)
	}
	if _, err := l.OpenDirect(ctx, "Not A Name!"); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("OpenDirect(bad name) = %v, want invalid", err)
	}
	conv, err := l.OpenDirect(ctx, "@bob")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := l.OpenDirect(ctx, "bob"); err != nil || again != conv {
		t.Errorf("OpenDirect twice: %q %v, want %q", again, err, conv)
	}
	c, err := st.Conversation(conv)
	if err != nil || len(c.MemberIDs) != 2 {
		t.Fatalf("direct chat in the store: %+v %v", c, err)
	}

	// Upload: a file becomes a message through the outbox.
	content := bytes.Repeat([]byte("parley attachment\n"), 100)
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Upload(ctx, conv, path, "the notes", 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Upload(ctx, conv, filepath.Join(t.TempDir(), "missing"), "", 0); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("Upload(missing file) = %v, want invalid", err)
	}
	if err := l.Upload(ctx, conv, t.TempDir(), "", 0); !parley.IsCode(err, parley.CodeInvalid) {
		t.Errorf("Upload(directory) = %v, want invalid", err)
	}
	if n, err := s.SendOutbox(ctx); n != 1 || err != nil {
		t.Fatalf("SendOutbox = %d, %v", n, err)
	}
	ms, _ := st.Messages(conv, 0, 10)
	m := ms[len(ms)-1]
	if m.Body != "the notes" || len(m.Attachments) != 1 || m.Attachments[0].Name != "notes.txt" {
		t.Fatalf("uploaded message %+v", m)
	}
	// Download twice: the second never overwrites the first.
	dl := t.TempDir()
	p1, err := l.Download(ctx, m.Attachments[0], dl)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := l.Download(ctx, m.Attachments[0], dl)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p1) != "notes.txt" || filepath.Base(p2) != "notes (1).txt" {
		t.Errorf("downloaded to %s and %s", p1, p2)
	}
	for _, p := range []string{p1, p2} {
		if b, _ := os.ReadFile(p); !bytes.Equal(b, content) {
			t.Errorf("%s differs from the upload", p)
		}
	}
	// A hostile name stays inside the directory.
	evil := m.Attachments[0]
	evil.Name = "../../escape.txt"
	if p, err := l.Download(ctx, evil, dl); err != nil || filepath.Dir(p) != dl {
		t.Errorf("download of %q went to %s (%v)", evil.Name, p, err)
	}

	// Edit and react; the store follows at once.
	if err := l.Edit(ctx, conv, m.Seq, "the notes, v2"); err != nil {
		t.Fatal(err)
	}
	if err := l.React(ctx, conv, m.Seq, "🎉", true); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Message(conv, m.Seq)
	if got.Body != "the notes, v2" || got.EditedAt == nil || len(got.Reactions) != 1 || got.Reactions[0].Emoji != "🎉" {
		t.Errorf("after edit and react: %+v", got)
	}
	if err := l.React(ctx, conv, m.Seq, "🎉", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Message(conv, m.Seq); len(got.Reactions) != 0 {
		t.Errorf("after unreact: %+v", got.Reactions)
	}
	// Someone else's message cannot be edited; a missing one is not found.
	bm, _, err := bob.Send(ctx, conv, client.SendRequest{Body: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Edit(ctx, conv, bm.Seq, "hijack"); !parley.IsCode(err, parley.CodeForbidden) && !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("editing bob's message: %v", err)
	}
	if err := l.React(ctx, conv, 9999, "👍", true); !parley.IsCode(err, parley.CodeNotFound) {
		t.Errorf("reacting to a missing message: %v", err)
	}
}
