-- Retention policies and legal hold per conversation (docs/data.md).
-- Times: unix ms UTC. Mirrors internal/sqlite/migrations/0065_retention.sql.
CREATE TABLE retention_policies (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    days            INTEGER NOT NULL DEFAULT 0,
    legal_hold      BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at      BIGINT NOT NULL
);
