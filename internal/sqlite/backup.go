package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parley-chat/parley"
)

// SchemaVersion returns the newest migration this build knows (the name of
// its last embedded migration file, e.g. "0005_conversation_heads").
func SchemaVersion() string {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return strings.TrimSuffix(filepath.Base(names[len(names)-1]), ".sql")
}

// Snapshot writes a transactionally consistent copy of the database in
// dataDir to dst (a new file; VACUUM INTO refuses an existing one) and
// returns the copy's schema version (its newest applied migration).
//
// It works while a server runs on dataDir: it opens the database read-only
// and does not take the directory lock. In WAL mode a reader does not block
// the writer, and the copy is the state of one read transaction — every
// commit before it began, none after. The copy has no WAL of its own.
func Snapshot(ctx context.Context, dataDir, dst string) (schema string, err error) {
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); err != nil {
		return "", parley.Unavailable(fmt.Errorf("no Parley database in %s: %w", dataDir, err))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return "", parley.Unavailable(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return "", parley.Unavailable(fmt.Errorf("snapshot %s: %w", path, err))
	}
	if err := newIndexOwner(ctx, dst); err != nil {
		return "", err
	}
	return SnapshotSchema(ctx, dst)
}

// newIndexOwner gives the database file at path a new search index owner
// id, so that no existing index file is taken for its own: a copy restored
// from it rebuilds its index (searchindex.go). A database from before
// migration 0130 has none and gets one when it is migrated.
func newIndexOwner(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return parley.Unavailable(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'search_index_owner'`).Scan(&n); err != nil || n == 0 {
		return translate(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE search_index_owner SET owner = lower(hex(randomblob(16)))`); err != nil {
		return parley.Unavailable(fmt.Errorf("snapshot %s: %w", path, err))
	}
	return nil
}

// SnapshotSchema returns the newest migration applied to the database file
// at path (a snapshot, not a live data directory).
func SnapshotSchema(ctx context.Context, path string) (string, error) {
	db, err := openFile(path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return "", parley.Unavailable(fmt.Errorf("%s is not a Parley database: %w", path, err))
	}
	return v.String, nil
}

// SnapshotBlobs returns the blob keys that the database file at path needs
// to serve its history: the contents and thumbnails of every file sent in a
// message and every avatar, not deleted. (Unsent files and deleted ones are
// swept after --media-grace anyway.)
func SnapshotBlobs(ctx context.Context, path string) ([]string, error) {
	db, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT blob_key FROM attachments
		WHERE deleted_at IS NULL AND (conversation_id IS NOT NULL OR purpose <> 'file')
		UNION SELECT thumb_key FROM attachments
		WHERE thumb_key <> '' AND deleted_at IS NULL AND (conversation_id IS NOT NULL OR purpose <> 'file')`)
	if err != nil {
		return nil, parley.Unavailable(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, parley.Unavailable(err)
		}
		keys = append(keys, k)
	}
	return keys, translate(rows.Err())
}

// CheckFile runs SQLite's integrity check on the database file at path.
func CheckFile(ctx context.Context, path string) error {
	db, err := openFile(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&res); err != nil {
		return parley.Unavailable(fmt.Errorf("%s: %w", path, err))
	}
	if res != "ok" {
		return parley.Unavailable(errors.New(path + ": integrity check: " + res))
	}
	return nil
}

// openFile opens a database file read-only, with one connection.
func openFile(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, parley.Unavailable(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, parley.Unavailable(err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// LockDir takes the lock `parley serve` holds on a data directory (creating
// the lock file), so that a restore cannot write under a running node. It
// fails with CodeUnavailable while a node runs there. Closing the file
// releases the lock.
func LockDir(dir string) (*os.File, error) { return lockDir(dir) }
