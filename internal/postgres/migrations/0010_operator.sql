-- Registration invites and the admin audit log (issue 17). Times are BIGINT
-- unix milliseconds UTC; expires_at and revoked_at are NULL for never.
CREATE TABLE invites (
    id         TEXT COLLATE "C" PRIMARY KEY,
    code       TEXT COLLATE "C" NOT NULL UNIQUE,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Every admin action; rows are never updated or deleted. id is time-ordered.
CREATE TABLE audit_log (
    id        TEXT COLLATE "C" PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor_id  TEXT NOT NULL DEFAULT '',
    actor     TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    target    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
