-- Presence across nodes (internal/postgres/presence.go). presence_nodes and
-- presence describe live connections only, so they are UNLOGGED (no WAL;
-- emptied by a PostgreSQL crash, after which nodes re-register within one
-- heartbeat). A node's rows count only while its lease holds. Times are
-- BIGINT Unix milliseconds of the database's clock.
CREATE UNLOGGED TABLE presence_nodes (
    node_id     TEXT COLLATE "C" PRIMARY KEY,
    lease_until BIGINT NOT NULL
);
CREATE UNLOGGED TABLE presence (
    user_id TEXT COLLATE "C" NOT NULL,
    node_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, node_id)
);
CREATE INDEX presence_node ON presence (node_id);
CREATE TABLE last_seen (
    user_id TEXT COLLATE "C" PRIMARY KEY,
    at      BIGINT NOT NULL
);
