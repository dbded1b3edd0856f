-- App passwords (docs/accounts.md#app-passwords): one generated password per
-- password-only client; only the SHA-256 is stored. Times: unix ms UTC.
-- Mirrors internal/sqlite/migrations/0061_app_passwords.sql.
CREATE TABLE app_passwords (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX app_passwords_hash ON app_passwords(user_id, hash);
