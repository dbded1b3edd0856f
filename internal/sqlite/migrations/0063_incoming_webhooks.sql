-- Incoming webhooks (docs/bots.md): a secret URL posting into one
-- conversation as a bot. secret_hash is SHA-256 of the secret. Times: unix ms UTC.
CREATE TABLE incoming_webhooks (
    id              TEXT PRIMARY KEY,
    bot_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    secret_hash     BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX incoming_webhooks_bot ON incoming_webhooks(bot_id, created_at);
