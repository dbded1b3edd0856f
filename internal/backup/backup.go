// Package backup writes and restores archives of a single node's SQLite data
// directory: a consistent snapshot of the database, the encrypted blobs
// under blobs/ and the blob key, in a tar file (optionally gzip-compressed)
// that ends with a manifest of every file's size and SHA-256.
//
// Consistency between the database and the blobs: the database is
// snapshotted first (one read transaction), the blobs are copied after.
// A blob is written (synced and renamed into place) before any database
// row names it, so every blob the snapshot names existed when the snapshot
// began. The sweep removes a blob only when no row names it and it is older
// than --media-grace; a row that still names it in the snapshot can stop
// doing so (file deleted) only after the snapshot, and deleted files' rows
// are purged only --media-grace after their deletion. So every blob the
// snapshot needs is still on disk while the copy runs, as long as the copy
// takes less than --media-grace (24 h by default, at least 1 m). Create
// checks this: it fails if a blob the snapshot needs is missing. Blobs
// stored after the snapshot may be in the archive too; unreferenced, they
// are swept after --media-grace on the restored node.
package backup

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/blob/local"
	"github.com/parley-chat/parley/internal/sqlite"
)

// Format names the archive layout; Restore refuses any other.
const Format = "parley-backup/1"

// ManifestName is the archive's last entry.
const ManifestName = "manifest.json"

// Manifest describes an archive.
type Manifest struct {
	Format        string    `json:"format"`
	Version       string    `json:"parley_version"` // of the binary that wrote it
	CreatedAt     time.Time `json:"created_at"`     // when the database snapshot was taken
	Store         string    `json:"store"`          // "sqlite"
	SchemaVersion string    `json:"schema_version"` // newest migration applied to the snapshot
	Files         []File    `json:"files"`          // every other entry of the archive, in order
}

// File is one archived file.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Bytes returns the total size of the archived files.
func (m Manifest) Bytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Options tune Create.
type Options struct {
	Gzip    bool
	Version string // recorded in the manifest
	TempDir string // where the database snapshot is staged; default os.TempDir()
}

// Create writes an archive of the SQLite data directory dataDir to w. The
// node may be running. See the package comment for why the archive is
// consistent.
func Create(ctx context.Context, dataDir string, w io.Writer, opt Options) (Manifest, error) {
	m := Manifest{Format: Format, Version: opt.Version, Store: "sqlite"}
	tmp, err := os.MkdirTemp(opt.TempDir, ".parley-backup-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, sqlite.FileName)
	m.CreatedAt = time.Now().UTC()
	if m.SchemaVersion, err = sqlite.Snapshot(ctx, dataDir, snap); err != nil {
		return m, err
	}
	need, err := sqlite.SnapshotBlobs(ctx, snap)
	if err != nil {
		return m, err
	}

	var out io.Writer = w
	var zw *gzip.Writer
	if opt.Gzip {
		zw = gzip.NewWriter(w)
		out = zw
	}
	tw := tar.NewWriter(out)
	add := func(name, src string, missingOK bool) error {
		f, err := os.Open(src) // #nosec G304 -- files of the operator's data dir
		if missingOK && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: st.Size(), Mode: 0o600, ModTime: st.ModTime(), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.CopyN(io.MultiWriter(tw, h), f, st.Size()); err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		m.Files = append(m.Files, File{Path: name, Size: st.Size(), SHA256: hex.EncodeToString(h.Sum(nil))})
		return ctx.Err()
	}
	if err := add(sqlite.FileName, snap, false); err != nil {
		return m, err
	}
	if err := add(local.KeyFile, filepath.Join(dataDir, local.KeyFile), true); err != nil {
		return m, err
	}
	have := map[string]bool{}
	blobs := filepath.Join(dataDir, "blobs")
	dirs, err := os.ReadDir(blobs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue // tmp/ holds uploads in progress
		}
		ents, err := os.ReadDir(filepath.Join(blobs, d.Name()))
		if err != nil {
			return m, err
		}
		for _, e := range ents {
			if !blobEntry(d.Name(), e.Name()) {
				continue
			}
			// A blob removed by the sweep since the listing was unreferenced.
			n := len(m.Files)
			if err := add(path.Join("blobs", d.Name(), e.Name()), filepath.Join(blobs, d.Name(), e.Name()), true); err != nil {
				return m, err
			}
			have[e.Name()] = len(m.Files) > n
		}
	}
	var missing []string
	for _, k := range need {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return m, parley.Unavailable(fmt.Errorf("%d stored files the database names are missing from %s (first: %s); the backup would be incomplete", len(missing), blobs, missing[0]))
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Size: int64(len(body)), Mode: 0o600, ModTime: m.CreatedAt, Format: tar.FormatPAX}); err != nil {
		return m, err
	}
	if _, err := tw.Write(body); err != nil {
		return m, err
	}
	if err := tw.Close(); err != nil {
		return m, err
	}
	if zw != nil {
		return m, zw.Close()
	}
	return m, nil
}

// blobEntry reports whether dir/name is a blob's place under blobs/.
func blobEntry(dir, name string) bool {
	return parley.ValidBlobKey(name) && len(name) > 2 && name[:2] == dir
}

// validName reports whether name may appear in an archive: the database,
// the key, the manifest or a blob — nothing that could land outside the
// data directory.
func validName(name string) bool {
	switch name {
	case sqlite.FileName, local.KeyFile, ManifestName:
		return true
	}
	parts := strings.Split(name, "/")
	return len(parts) == 3 && parts[0] == "blobs" && blobEntry(parts[1], parts[2])
}

// Damaged is the error of an archive that is not a whole, unaltered Parley
// backup.
type Damaged struct{ Reason string }

func (e *Damaged) Error() string { return "the archive is not a valid Parley backup: " + e.Reason }

func damaged(format string, args ...any) error {
	return &Damaged{Reason: fmt.Sprintf(format, args...)}
}

// reader opens the archive (detecting gzip) and returns a tar reader.
func reader(r io.Reader) (*tar.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil {
		return nil, damaged("too short (%v)", err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, damaged("bad gzip header: %v", err)
		}
		return tar.NewReader(zr), nil
	}
	return tar.NewReader(br), nil
}

// walk reads every entry of the archive, checks its name, and hands its
// content to fn (after the manifest, which must be the last entry, is
// read, the checksums are compared). It returns the manifest once every
// file has been found whole and matching it.
func walk(r io.Reader, fn func(hdr *tar.Header, body io.Reader) error) (Manifest, error) {
	var m Manifest
	tr, err := reader(r)
	if err != nil {
		return m, err
	}
	type seen struct {
		size int64
		sum  string
	}
	got := map[string]seen{}
	var order []string
	manifest := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(order) == 0 && !manifest {
				return m, damaged("not a tar archive (%v)", err)
			}
			return m, damaged("truncated or corrupt after %d files (%v)", len(order), err)
		}
		if manifest {
			return m, damaged("entry %q after the manifest", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg || !validName(hdr.Name) {
			return m, damaged("unexpected entry %q", hdr.Name)
		}
		if _, dup := got[hdr.Name]; dup {
			return m, damaged("entry %q appears twice", hdr.Name)
		}
		if hdr.Name == ManifestName {
			if hdr.Size > 64<<20 {
				return m, damaged("manifest too large")
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				return m, damaged("truncated in the manifest (%v)", err)
			}
			if err := json.Unmarshal(body, &m); err != nil {
				return m, damaged("unreadable manifest: %v", err)
			}
			manifest = true
			continue
		}
		h := sha256.New()
		cr := &countingHash{r: tr, h: h}
		if fn != nil {
			err = fn(hdr, cr)
		} else {
			_, err = io.Copy(io.Discard, cr)
		}
		if err == nil {
			_, err = io.Copy(io.Discard, cr) // whatever fn left
		}
		if cr.err != nil { // reading the archive failed, not writing the copy
			if errors.Is(cr.err, io.ErrUnexpectedEOF) {
				return m, damaged("truncated in %q", hdr.Name)
			}
			return m, damaged("corrupt in %q (%v)", hdr.Name, cr.err)
		}
		if err != nil {
			return m, err
		}
		got[hdr.Name] = seen{cr.n, hex.EncodeToString(h.Sum(nil))}
		order = append(order, hdr.Name)
	}
	if !manifest {
		return m, damaged("no manifest (truncated, or not made by parley backup)")
	}
	if m.Format != Format {
		return m, damaged("format %q, want %q", m.Format, Format)
	}
	if m.Store != "sqlite" {
		return m, damaged("store %q, want sqlite", m.Store)
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		s, ok := got[f.Path]
		switch {
		case listed[f.Path]:
			return m, damaged("manifest lists %q twice", f.Path)
		case !ok:
			return m, damaged("file %q listed in the manifest is missing", f.Path)
		case s.size != f.Size:
			return m, damaged("file %q is %d bytes, the manifest says %d", f.Path, s.size, f.Size)
		case s.sum != f.SHA256:
			return m, damaged("file %q: SHA-256 mismatch (damaged or altered)", f.Path)
		}
		listed[f.Path] = true
	}
	for _, name := range order {
		if !listed[name] {
			return m, damaged("file %q is not in the manifest", name)
		}
	}
	if !listed[sqlite.FileName] {
		return m, damaged("no database (%s)", sqlite.FileName)
	}
	return m, nil
}

type countingHash struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error // the first read error other than io.EOF
}

func (c *countingHash) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// Verify reads a whole archive and checks it against its manifest.
func Verify(r io.Reader) (Manifest, error) { return walk(r, nil) }

// ErrNotEmpty is returned by Restore for a data directory that holds files
// when force is off.
var ErrNotEmpty = errors.New("the data directory is not empty")

// Restore checks the archive at file end to end, then — only if it is whole
// and matches its manifest — writes its database, key and blobs into
// dataDir (created if missing). A directory with anything in it is refused
// unless force is set; then its database (with any WAL), blob key and blobs
// are replaced, its search index is deleted (the next start rebuilds it)
// and other files are left alone. Restore holds the data
// directory's lock throughout, so it fails while a node runs there.
func Restore(ctx context.Context, file, dataDir string, force bool) (Manifest, error) {
	f, err := os.Open(file) // #nosec G304 -- the operator's archive
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	m, err := Verify(f)
	if err != nil {
		return m, err
	}
	if known := sqlite.SchemaVersion(); m.SchemaVersion > known {
		return m, fmt.Errorf("the backup's schema %s is newer than this parley's (%s): restore it with the version that wrote it (%s) or newer", m.SchemaVersion, known, m.Version)
	}
	ents, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	if len(ents) > 0 && !force {
		return m, fmt.Errorf("%w: %s holds %d entries; restore into an empty directory, or pass --force to replace its database, blob key and files", ErrNotEmpty, dataDir, len(ents))
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return m, err
	}
	lock, err := sqlite.LockDir(dataDir)
	if err != nil {
		return m, &parley.Error{Code: parley.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("%s is in use by a running Parley node: stop it before restoring into it", dataDir)}
	}
	defer lock.Close()

	stage, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(stage)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return m, err
	}
	// The second pass writes into the staging directory and checks the
	// checksums again (the file could have changed since the first).
	m2, err := walk(f, func(hdr *tar.Header, body io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(stage, filepath.FromSlash(hdr.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- validName checked the name
		if err != nil {
			return err
		}
		_, err = io.Copy(out, body)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil && !hdr.ModTime.IsZero() {
			err = os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
		}
		return err
	})
	if err != nil {
		return m, err
	}
	if m2.CreatedAt != m.CreatedAt || len(m2.Files) != len(m.Files) {
		return m, damaged("the archive changed while it was being restored")
	}
	if err := sqlite.CheckFile(ctx, filepath.Join(stage, sqlite.FileName)); err != nil {
		return m, err
	}
	// Only now is anything in dataDir replaced.
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm", local.KeyFile, "blobs"} {
		if err := os.RemoveAll(filepath.Join(dataDir, name)); err != nil {
			return m, err
		}
	}
	// The search index is derived from the database: the next start rebuilds it.
	if err := sqlite.RemoveIndex(dataDir); err != nil {
		return m, err
	}
	for _, name := range []string{sqlite.FileName, local.KeyFile, "blobs"} {
		err := os.Rename(filepath.Join(stage, name), filepath.Join(dataDir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, err
		}
	}
	if d, err := os.Open(dataDir); err == nil { // #nosec G304 -- the operator's own --data-dir
		_ = d.Sync()
		_ = d.Close()
	}
	return m, nil
}

// HasKey reports whether the archive holds the blob key.
func (m Manifest) HasKey() bool {
	for _, f := range m.Files {
		if f.Path == local.KeyFile {
			return true
		}
	}
	return false
}
