// Package local stores blobs as encrypted files under a directory
// (<data-dir>/blobs): content-addressed, written to a temporary file, synced
// and renamed into place, sealed with AES-256-GCM in chunks (package
// sealed) so Range reads decrypt only what they need.
package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/blob/sealed"
)

// Store is a parley.Blobs on the local file system. Safe for concurrent use,
// also by several processes sharing the directory.
type Store struct {
	dir  string // <data-dir>/blobs
	key  []byte
	addr []byte // address key
}

var _ parley.Blobs = (*Store)(nil)

// KeyFile is the name of the key file created in the data dir.
const KeyFile = "blob.key"

// Open returns the store under dataDir/blobs. key is the 32-byte master key
// (hex or base64 text, as an operator gives it); when empty, the key is read
// from dataDir/blob.key, created with mode 0600 on first start.
func Open(dataDir, key string) (*Store, error) {
	k, err := LoadKey(dataDir, key)
	if err != nil {
		return nil, err
	}
	return New(dataDir, k)
}

// New returns the store under dataDir/blobs with the 32-byte master key k.
func New(dataDir string, k []byte) (*Store, error) {
	if len(k) != sealed.KeySize {
		return nil, parley.Invalid("blob_key", "the blob key must be 32 bytes")
	}
	dir := filepath.Join(dataDir, "blobs")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, parley.Unavailable(err)
	}
	return &Store{dir: dir, key: k, addr: sealed.AddressKey(k)}, nil
}

// ParseKey decodes an operator-given key: 64 hex digits or base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == sealed.KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sealed.KeySize {
			return b, nil
		}
	}
	return nil, parley.Invalid("blob_key", "the blob key must be 32 bytes, written as 64 hex digits or base64")
}

// LoadKey returns the master key: given (an operator's key, see ParseKey)
// or else the one in dataDir/blob.key, created (mode 0600) when missing.
func LoadKey(dataDir, given string) ([]byte, error) {
	if given != "" {
		return ParseKey(given)
	}
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path) // #nosec G304 -- the key file in the operator's data dir
	if err == nil {
		return ParseKey(string(b))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, parley.Unavailable(err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, parley.Unavailable(err)
	}
	k := make([]byte, sealed.KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, parley.Internal(err)
	}
	// #nosec G304 -- the key file in the operator's data dir
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		return LoadKey(dataDir, "")
	}
	if err != nil {
		return nil, parley.Unavailable(err)
	}
	_, err = f.WriteString(hex.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, parley.Unavailable(err)
	}
	return k, nil
}

func (s *Store) path(key string) string { return filepath.Join(s.dir, key[:2], key) }

// Put implements parley.Blobs.
func (s *Store) Put(ctx context.Context, r io.Reader, max int64) (parley.BlobInfo, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	key, n, err := sealed.Copy(ctx, f, r, max, s.key, s.addr)
	if err != nil {
		return parley.BlobInfo{}, err
	}
	if err := f.Sync(); err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	if err := f.Close(); err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	done = true
	final := s.path(key)
	now := time.Now()
	if _, err := os.Stat(final); err == nil {
		// Same content stored already: keep it, mark it fresh for the sweep.
		os.Remove(tmp)
		if err := os.Chtimes(final, now, now); err != nil {
			return parley.BlobInfo{}, parley.Unavailable(err)
		}
		return parley.BlobInfo{Key: key, Size: n, ModTime: now}, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		os.Remove(tmp)
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	syncDir(filepath.Dir(final))
	st, err := os.Stat(final)
	if err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	return parley.BlobInfo{Key: key, Size: n, ModTime: st.ModTime()}, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil { // #nosec G304 -- a directory under the data dir
		d.Sync()
		d.Close()
	}
}

func notFound() error { return parley.Errorf(parley.CodeNotFound, "file not found") }

type file struct {
	*sealed.Reader
	f *os.File
}

func (f file) Close() error { return f.f.Close() }

// Get implements parley.Blobs.
func (s *Store) Get(ctx context.Context, key string) (io.ReadSeekCloser, parley.BlobInfo, error) {
	if !parley.ValidBlobKey(key) {
		return nil, parley.BlobInfo{}, notFound()
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, parley.BlobInfo{}, notFound()
	}
	if err != nil {
		return nil, parley.BlobInfo{}, parley.Unavailable(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, parley.BlobInfo{}, parley.Unavailable(err)
	}
	r, err := sealed.NewReader(f, st.Size(), s.key)
	if err != nil {
		f.Close()
		return nil, parley.BlobInfo{}, parley.Internal(fmt.Errorf("blob %s: %w", key, err))
	}
	return file{r, f}, parley.BlobInfo{Key: key, Size: r.Size(), ModTime: st.ModTime()}, nil
}

// Stat implements parley.Blobs.
func (s *Store) Stat(ctx context.Context, key string) (parley.BlobInfo, error) {
	if !parley.ValidBlobKey(key) {
		return parley.BlobInfo{}, notFound()
	}
	st, err := os.Stat(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return parley.BlobInfo{}, notFound()
	}
	if err != nil {
		return parley.BlobInfo{}, parley.Unavailable(err)
	}
	n, err := sealed.PlainSize(st.Size())
	if err != nil {
		return parley.BlobInfo{}, parley.Internal(err)
	}
	return parley.BlobInfo{Key: key, Size: n, ModTime: st.ModTime()}, nil
}

// Delete implements parley.Blobs.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !parley.ValidBlobKey(key) {
		return nil
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return parley.Unavailable(err)
	}
	return nil
}

// List implements parley.Blobs. Temporary files older than a day (left by a
// crash mid-Put) are removed on the way.
func (s *Store) List(ctx context.Context, fn func(parley.BlobInfo) error) error {
	if tmps, err := os.ReadDir(filepath.Join(s.dir, "tmp")); err == nil {
		for _, e := range tmps {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				os.Remove(filepath.Join(s.dir, "tmp", e.Name()))
			}
		}
	}
	dirs, err := os.ReadDir(s.dir)
	if err != nil {
		return parley.Unavailable(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(s.dir, d.Name()))
		if err != nil {
			return parley.Unavailable(err)
		}
		for _, e := range ents {
			if !parley.ValidBlobKey(e.Name()) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return parley.Unavailable(err)
			}
			info, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			n, err := sealed.PlainSize(info.Size())
			if err != nil {
				n = -1
			}
			if err := fn(parley.BlobInfo{Key: e.Name(), Size: n, ModTime: info.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}
