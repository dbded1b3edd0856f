-- Retention policies and legal hold per conversation (docs/data.md).
-- Times: unix ms UTC.
CREATE TABLE retention_policies (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    days            INTEGER NOT NULL DEFAULT 0,
    legal_hold      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);
