-- Bots and their API tokens (docs/bots.md). Times: unix ms UTC.
-- Mirrors internal/sqlite/migrations/0062_bots.sql.

-- A bot is a user whose bot_owner names the user who owns it ('' for people).
ALTER TABLE users ADD COLUMN bot_owner TEXT NOT NULL DEFAULT '';
CREATE INDEX users_bot_owner ON users(bot_owner) WHERE bot_owner <> '';

-- Scoped bearer tokens of bots; token_hash is SHA-256 of the token.
-- scopes is a space-separated list.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id, created_at);
