package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/backup"
	"github.com/parley-chat/parley/internal/blob/local"
	"github.com/parley-chat/parley/internal/sqlite"
)

// dataDir makes a data directory with a database (left open, as a running
// node holds it) and two stored files.
func dataDir(t *testing.T) (string, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := local.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b := make([]byte, 5000)
		_, _ = rand.Read(b)
		if _, err := blobs.Put(ctx, bytes.NewReader(b), 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	return dir, st
}

func archive(t *testing.T, dir string, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := backup.Create(context.Background(), dir, &buf, backup.Options{Gzip: gz, Version: "test", TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "backup.tar")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rewrite copies a tar archive through edit, which may change an entry's
// content (keeping its size) or drop it (returning nil).
func rewrite(t *testing.T, in []byte, edit func(hdr *tar.Header, body []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(in))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if body = edit(hdr, body); body == nil {
			continue
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	return out.Bytes()
}

func TestRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, _ := dataDir(t)
	for _, gz := range []bool{false, true} {
		dst := filepath.Join(t.TempDir(), "new")
		m, err := backup.Restore(ctx, writeFile(t, archive(t, src, gz)), dst, false)
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if m.SchemaVersion != sqlite.SchemaVersion() || !m.HasKey() || len(m.Files) != 4 {
			t.Errorf("manifest %+v", m)
		}
		for _, f := range m.Files {
			got, err := os.ReadFile(filepath.Join(dst, f.Path))
			want, _ := os.ReadFile(filepath.Join(src, f.Path))
			if err != nil || (f.Path != sqlite.FileName && !bytes.Equal(got, want)) {
				t.Errorf("%s not restored as it was (err %v)", f.Path, err)
			}
		}
		st, err := sqlite.Open(ctx, dst)
		if err != nil {
			t.Fatalf("restored data dir does not open: %v", err)
		}
		st.Close()
	}
}

func TestRestoreRefusesBadArchives(t *testing.T) {
	src, _ := dataDir(t)
	good := archive(t, src, false)
	goodGz := archive(t, src, true)
	garbage := make([]byte, 4096)
	_, _ = rand.Read(garbage)
	flip := func(hdr *tar.Header, body []byte) []byte {
		if strings.HasPrefix(hdr.Name, "blobs/") {
			body = bytes.Clone(body)
			body[len(body)/2] ^= 1
		}
		return body
	}
	drop := func(name string) func(*tar.Header, []byte) []byte {
		return func(hdr *tar.Header, body []byte) []byte {
			if strings.HasPrefix(hdr.Name, name) {
				return nil
			}
			return body
		}
	}
	evil := rewrite(t, good, func(hdr *tar.Header, body []byte) []byte {
		if hdr.Name == local.KeyFile {
			hdr.Name = "../blob.key"
		}
		return body
	})
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":                 {nil, "too short"},
		"garbage":               {garbage, "not a tar archive"},
		"truncated":             {good[:len(good)/2], "truncated"},
		"truncated gzip":        {goodGz[:len(goodGz)-200], "truncated"},
		"one byte changed":      {rewrite(t, good, flip), "SHA-256 mismatch"},
		"no manifest":           {rewrite(t, good, drop(backup.ManifestName)), "no manifest"},
		"file dropped":          {rewrite(t, good, drop("blobs/")), "is missing"},
		"entry outside the dir": {evil, "unexpected entry"},
	} {
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "new")
			_, err := backup.Restore(context.Background(), writeFile(t, tc.data), dst, false)
			var d *backup.Damaged
			if !errors.As(err, &d) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a Damaged error saying %q", err, tc.want)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused archive wrote into the data dir (%v)", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := backup.Restore(context.Background(), filepath.Join(t.TempDir(), "nope.tar"), t.TempDir(), false)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRestoreRefusesNonEmptyOrRunningTarget(t *testing.T) {
	ctx := context.Background()
	src, _ := dataDir(t)
	file := writeFile(t, archive(t, src, false))
	dst := t.TempDir()
	mine := filepath.Join(dst, "notes.txt")
	os.WriteFile(mine, []byte("mine"), 0o600)
	os.WriteFile(filepath.Join(dst, sqlite.FileName+"-wal"), []byte("stale"), 0o600)
	os.WriteFile(filepath.Join(dst, sqlite.IndexFileName), []byte("an index of other messages"), 0o600)
	if _, err := backup.Restore(ctx, file, dst, false); !errors.Is(err, backup.ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("non-empty target: got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, sqlite.FileName)); err == nil {
		t.Fatal("refused restore wrote the database")
	}
	if _, err := backup.Restore(ctx, file, dst, true); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "mine" {
		t.Error("--force removed a file that is not Parley's")
	}
	if _, err := os.Stat(filepath.Join(dst, sqlite.FileName+"-wal")); err == nil {
		t.Error("--force kept a stale WAL beside the restored database")
	}
	if _, err := os.Stat(filepath.Join(dst, sqlite.IndexFileName)); err == nil {
		t.Error("--force kept a search index built from other messages")
	}
	// A node running on the target holds its lock.
	runDir, _ := dataDir(t)
	_, err := backup.Restore(ctx, file, runDir, true)
	if e := parley.AsError(err); e == nil || e.Code != parley.CodeUnavailable || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore under a running node: got %v", err)
	}
}
