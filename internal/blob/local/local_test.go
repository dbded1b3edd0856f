package local_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/blob/blobtest"
	"github.com/parley-chat/parley/internal/blob/local"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) parley.Blobs {
		s, err := local.Open(t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestKeyFileAndEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	s, err := local.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, local.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", st, err)
	}
	secret := bytes.Repeat([]byte("top secret payload "), 1000)
	info, err := s.Put(context.Background(), bytes.NewReader(secret), 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", info.Key[:2], info.Key))
	if err != nil || bytes.Contains(raw, []byte("top secret")) {
		t.Fatalf("blob file readable in clear (err %v)", err)
	}
	// Reopening uses the same key; a different operator key cannot read.
	s2, err := local.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, err := s2.Get(context.Background(), info.Key); err != nil {
		t.Fatal(err)
	} else {
		r.Close()
	}
	other, err := local.Open(dir, "0101010101010101010101010101010101010101010101010101010101010101")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, err := other.Get(context.Background(), info.Key); err == nil {
		if _, err := io.ReadAll(r); err == nil {
			t.Fatal("read with the wrong key")
		}
		r.Close()
	}
	if _, err := local.Open(t.TempDir(), "short"); !parley.IsCode(err, parley.CodeInvalid) {
		t.Fatalf("bad operator key: %v", err)
	}
}
