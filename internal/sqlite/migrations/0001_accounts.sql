-- Accounts and sessions. Owned by the accounts slice (issue 2).
-- Times are INTEGER unix milliseconds UTC.

-- username is the canonical (lower-case ASCII) form, so the plain UNIQUE
-- constraint makes usernames case-insensitively unique, and its index serves
-- prefix search (range scans on username).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    status_text   TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    settings      TEXT NOT NULL DEFAULT '{}',
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One row per signed-in device. token_hash is SHA-256 of the bearer token;
-- the token itself is never stored.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions(token_hash);
CREATE INDEX sessions_user ON sessions(user_id, created_at);
CREATE INDEX sessions_expires ON sessions(expires_at);
