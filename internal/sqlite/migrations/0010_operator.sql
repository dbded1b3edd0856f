-- Registration invites and the admin audit log (issue 17). Times are INTEGER
-- unix milliseconds UTC; expires_at and revoked_at are NULL for never.
CREATE TABLE invites (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);

-- Every admin action; rows are never updated or deleted. id is time-ordered.
CREATE TABLE audit_log (
    id        TEXT PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor_id  TEXT NOT NULL DEFAULT '',
    actor     TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL,
    target_id TEXT NOT NULL DEFAULT '',
    target    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
