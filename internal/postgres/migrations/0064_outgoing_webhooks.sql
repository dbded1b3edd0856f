-- Outgoing webhooks and their durable delivery queue (docs/bots.md).
-- Times: unix ms UTC. Mirrors internal/sqlite/migrations/0064_outgoing_webhooks.sql.
CREATE TABLE outgoing_webhooks (
    id         TEXT PRIMARY KEY,
    bot_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    failures   INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX outgoing_webhooks_bot ON outgoing_webhooks(bot_id, created_at);

-- One row per event per webhook (UNIQUE: every node may try to enqueue it).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES outgoing_webhooks(id) ON DELETE CASCADE,
    event_key       TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (webhook_id, event_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, created_at);
