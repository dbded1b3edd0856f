-- Email links and verified addresses (issue 19). Tokens are stored as their
-- SHA-256 hash; a token is deleted when used. One live token per user and kind.
CREATE TABLE email_tokens (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX email_tokens_user ON email_tokens (user_id, kind);

-- The address each user last proved; the account's address is verified
-- while it equals this one.
CREATE TABLE email_verified (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    verified_at INTEGER NOT NULL
);

CREATE INDEX users_email ON users (lower(email)) WHERE email <> '';
