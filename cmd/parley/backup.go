package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-chat/parley/internal/backup"
	"github.com/parley-chat/parley/internal/server"
)

const backupUsage = `Usage: parley backup --out FILE [--data-dir DIR] [--gzip]

Writes a consistent snapshot of a SQLite node's data directory — the
database, the stored files (blobs/) and blob.key — to FILE, a tar archive
(gzip-compressed with --gzip or when FILE ends in .gz or .tgz) whose last
entry is a manifest with every file's size and SHA-256. The node may be
running: the snapshot is one read transaction and takes no lock.

The archive holds blob.key, which decrypts every stored file: keep it as
safe as the server. With PostgreSQL (--db) or S3 files, see docs/deploy.md.

Flags:
`

const restoreUsage = `Usage: parley restore FILE --data-dir DIR [--force]

Checks every file of the backup FILE against its manifest and, only if all
match, restores it into DIR (created if missing). DIR must be empty unless
--force is given, which replaces DIR's database, blob.key and blobs/ (other
files stay). The server must not be running on DIR. Then run
'parley serve --data-dir DIR'.

Flags:
`

func dataDirDefault() string {
	if v := os.Getenv(server.EnvName("data-dir")); v != "" {
		return v
	}
	return server.Default().DataDir
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); printFlags(stderr, fs) }
	out := fs.String("out", "", "archive to write (must not exist)")
	dir := fs.String("data-dir", dataDirDefault(), "the node's data directory [env PARLEY_DATA_DIR]")
	gz := fs.Bool("gzip", false, "compress with gzip (default when --out ends in .gz or .tgz)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 || *out == "" {
		fmt.Fprintln(stderr, "parley backup: --out FILE is required, and nothing else")
		fs.Usage()
		return errUsage
	}
	if os.Getenv(server.EnvName("db")) != "" {
		return errors.New("PARLEY_DB is set: this node keeps its data in PostgreSQL; back it up with pg_dump (docs/deploy.md, Backup and restore)")
	}
	if os.Getenv(server.EnvName("s3-endpoint")) != "" {
		fmt.Fprintln(stderr, "parley backup: note: PARLEY_S3_ENDPOINT is set; files in S3 are not in this archive (docs/deploy.md)")
	}
	compress := *gz || strings.HasSuffix(*out, ".gz") || strings.HasSuffix(*out, ".tgz")
	// Written beside the target and renamed into place when complete, so a
	// failed backup leaves no partial archive under the chosen name.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- the operator's chosen path
	if err != nil {
		return err
	}
	f.Close()
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".parley-backup-*.partial")
	if err != nil {
		os.Remove(*out)
		return err
	}
	m, err := backup.Create(ctx, *dir, tmp, backup.Options{Gzip: compress, Version: server.Version, TempDir: filepath.Dir(*out)})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *out)
	}
	if err != nil {
		os.Remove(tmp.Name())
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "backup of %s written to %s: %d files, %d bytes, schema %s, snapshot at %s\n",
		*dir, *out, len(m.Files), m.Bytes(), m.SchemaVersion, m.CreatedAt.Format("2006-01-02 15:04:05Z"))
	if !m.HasKey() {
		fmt.Fprintln(stdout, "no blob.key in the data directory: the files can be read only with the --blob-key the server runs with; keep it with this backup")
	}
	return nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, restoreUsage); printFlags(stderr, fs) }
	dir := fs.String("data-dir", "", "the data directory to restore into (required)")
	force := fs.Bool("force", false, "replace the database, blob.key and files of a non-empty data directory")
	// The archive may come before or after the flags.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 || *dir == "" {
		fmt.Fprintln(stderr, "parley restore: give one backup FILE and --data-dir DIR")
		fs.Usage()
		return errUsage
	}
	m, err := backup.Restore(ctx, files[0], *dir, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s: %d files, %d bytes, schema %s, snapshot taken at %s by parley %s\n",
		files[0], *dir, len(m.Files), m.Bytes(), m.SchemaVersion, m.CreatedAt.Format("2006-01-02 15:04:05Z"), m.Version)
	if !m.HasKey() {
		fmt.Fprintln(stdout, "the backup has no blob.key: start the server with the --blob-key it ran with, or no file can be read")
	}
	fmt.Fprintf(stdout, "start it with: parley serve --data-dir %s\n", *dir)
	return nil
}
