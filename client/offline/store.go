// Package offline is the SDK's offline-first client store: one local SQLite
// file per account holding the conversations, their messages by seq, the
// members' receipts and an outbox of messages composed but not yet stored by
// the server. Store is the file; Sync (sync.go) keeps it in step with the
// server over a client.Realtime session and sends the outbox.
//
// Reading and composing never need the network. Every outbox entry carries
// the client_msg_id it was composed with and is always sent with it, so a
// message is stored by the server exactly once however often the client
// crashes, restarts or reconnects before it learns the outcome.
//
// The package imports only the root package and client.
package offline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/parley-chat/parley"
)

// schemaVersion is the version of the schema below; an older file is
// upgraded on Open, a newer one refused (CodeConflict) rather than misread.
const schemaVersion = 3

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
	id            TEXT PRIMARY KEY,
	data          TEXT NOT NULL,              -- parley.Conversation as JSON
	last_seq      INTEGER NOT NULL DEFAULT 0, -- newest seq known to exist on the server
	last_at       TEXT NOT NULL DEFAULT '',
	have_seq      INTEGER NOT NULL DEFAULT 0, -- every message 1..have_seq is stored here
	read_seq      INTEGER NOT NULL DEFAULT 0, -- own read mark (local marks included)
	read_sent     INTEGER NOT NULL DEFAULT 0, -- own read mark the server has confirmed
	delivered_seq INTEGER NOT NULL DEFAULT 0,
	muted         INTEGER NOT NULL DEFAULT 0,
	member_ids    TEXT NOT NULL DEFAULT '[]', -- first page of members, for names and presence
	gone          INTEGER NOT NULL DEFAULT 0  -- the user left or was removed
);
CREATE TABLE IF NOT EXISTS messages (
	conversation_id TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	id              TEXT NOT NULL,
	sender_id       TEXT NOT NULL,
	client_msg_id   TEXT NOT NULL DEFAULT '',
	counts          INTEGER NOT NULL DEFAULT 0, -- a live user message: counts as unread for others
	data            TEXT NOT NULL, -- parley.Message as JSON
	PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
-- Unread counts scan this narrow index instead of the messages.
CREATE INDEX IF NOT EXISTS messages_unread ON messages (conversation_id, seq, sender_id, counts);
CREATE TABLE IF NOT EXISTS receipts (
	conversation_id TEXT NOT NULL,
	user_id         TEXT NOT NULL,
	delivered_seq   INTEGER NOT NULL,
	read_seq        INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
	n               INTEGER PRIMARY KEY AUTOINCREMENT, -- composition order
	client_msg_id   TEXT NOT NULL UNIQUE,
	conversation_id TEXT NOT NULL,
	body            TEXT NOT NULL,
	reply_to        INTEGER NOT NULL DEFAULT 0,
	attachment_ids  TEXT NOT NULL DEFAULT '[]',
	created_at      TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'pending', -- pending | failed
	attempts        INTEGER NOT NULL DEFAULT 0,
	error_code      TEXT NOT NULL DEFAULT '',
	error_message   TEXT NOT NULL DEFAULT '',
	e2ee            TEXT NOT NULL DEFAULT '' -- the envelope of an encrypted conversation's message
);
CREATE INDEX IF NOT EXISTS outbox_conversation ON outbox (conversation_id);
`

// Store is one account's local database. It is safe for concurrent use;
// writes are serialised by SQLite (one connection).
type Store struct {
	db   *sql.DB
	path string

	mu      sync.Mutex
	changed []chan struct{}
}

// Open opens (creating it and its directory, mode 0700/0600, if needed) the
// store at path. A file that is not a Parley client store, or is damaged, is
// CodeInvalid (field "path") and is left untouched: move it aside to start
// afresh (the server holds everything but the unsent outbox). A store
// written by a newer version is CodeConflict.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, parley.Invalid("path", "no store path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, parley.Invalid("path", "create store directory: %v", err)
	}
	// Create the file with mode 0600 before SQLite does (it would honour the umask).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- the caller names its own store file
	if err != nil {
		return nil, parley.Invalid("path", "open store: %v", err)
	}
	_ = f.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(5000)"+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, parley.Invalid("path", "open store: %v", err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	ctx := context.Background()
	unusable := func(err error) error {
		return parley.Invalid("path", "%s is not a usable Parley client store (%v); move it aside to start afresh", s.path, err)
	}
	var ok string
	if err := s.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
		if err == nil {
			err = errors.New(ok)
		}
		return unusable(err)
	}
	if _, err := s.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"); err != nil {
		return unusable(err)
	}
	v, err := s.Meta("schema")
	if err != nil {
		return err
	}
	switch v {
	case "", fmt.Sprint(schemaVersion):
	case "1":
		// Version 1 lacked messages.counts (and its index, created below).
		if _, err := s.db.ExecContext(ctx, `ALTER TABLE messages ADD COLUMN counts INTEGER NOT NULL DEFAULT 0;
			UPDATE messages SET counts = (json_extract(data, '$.kind') = 'user' AND coalesce(json_extract(data, '$.deleted'), 0) = 0)`); err != nil {
			return unusable(err)
		}
		fallthrough
	case "2":
		// Version 2 lacked outbox.e2ee (end-to-end encrypted sends).
		var tables, n int
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox'),
			(SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'e2ee')`).Scan(&tables, &n); err != nil {
			return unusable(err)
		}
		if tables == 1 && n == 0 {
			if _, err := s.db.ExecContext(ctx, `ALTER TABLE outbox ADD COLUMN e2ee TEXT NOT NULL DEFAULT ''`); err != nil {
				return unusable(err)
			}
		}
	default:
		return parley.Errorf(parley.CodeConflict, "%s has client store schema %s; this version reads %d", s.path, v, schemaVersion)
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return unusable(err)
	}
	return s.SetMeta("schema", fmt.Sprint(schemaVersion))
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Changed returns a channel that receives (without blocking the writer;
// changes coalesce) after every write that changes what a reader sees.
func (s *Store) Changed() <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.changed = append(s.changed, ch)
	s.mu.Unlock()
	return ch
}

func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.changed {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Meta returns a metadata value ("" when unset).
func (s *Store) Meta(key string) (string, error) {
	var v string
	err := s.db.QueryRow("SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, dbErr(err)
}

// SetMeta stores a metadata value.
func (s *Store) SetMeta(key, value string) error {
	_, err := s.db.Exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return dbErr(err)
}

// Bind ties the store to an account: the first call records userID and
// server; later calls must name the same ones (else CodeConflict), so one
// file never mixes two accounts' histories.
func (s *Store) Bind(server, userID string) error {
	have, err := s.Meta("user_id")
	if err != nil {
		return err
	}
	srv, err := s.Meta("server")
	if err != nil {
		return err
	}
	if have == "" {
		if err := s.SetMeta("server", server); err != nil {
			return err
		}
		return s.SetMeta("user_id", userID)
	}
	if have != userID || srv != server {
		return parley.Errorf(parley.CodeConflict, "%s belongs to user %s on %s, not %s on %s", s.path, have, srv, userID, server)
	}
	return nil
}

// UserID returns the account the store is bound to ("" before Bind).
func (s *Store) UserID() string {
	v, _ := s.Meta("user_id")
	return v
}

func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*parley.Error); ok {
		return err
	}
	msg := err.Error()
	if strings.Contains(msg, "not a database") || strings.Contains(msg, "malformed") || strings.Contains(msg, "corrupt") {
		return parley.Invalid("path", "client store damaged: %v", err)
	}
	return &parley.Error{Code: parley.CodeInternal, Message: "client store: " + msg, Err: err}
}

// timeText formats t with a fixed width, so that text order is time order.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
