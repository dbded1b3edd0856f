-- Two-factor sign-in (docs/twofactor.md). Times are INTEGER unix milliseconds UTC.

-- users.two_factor mirrors "a two_factor row with enabled = 1", so the
-- session lookup of every request sees it without another query.
ALTER TABLE users ADD COLUMN two_factor INTEGER NOT NULL DEFAULT 0 CHECK (two_factor IN (0, 1));

-- One TOTP secret per account: pending (enabled = 0) from enrolment until
-- confirmed with a code. last_step is the last accepted time step: codes for
-- it or earlier are replays.
CREATE TABLE two_factor (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- Unused recovery codes, SHA-256 of the normalised code (80 random bits).
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Half-finished sign-ins waiting for their second factor.
CREATE TABLE login_challenges (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('verify', 'setup')),
    address    TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_challenges_expires ON login_challenges(expires_at);
CREATE INDEX login_challenges_user ON login_challenges(user_id);
