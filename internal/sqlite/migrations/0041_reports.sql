-- Reports of messages and users (issue 20). conversation_id is '' and seq 0
-- for a report of a user. Times are INTEGER unix milliseconds UTC.
CREATE TABLE reports (
    id              TEXT PRIMARY KEY,
    reporter_id     TEXT NOT NULL,
    target_user_id  TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    seq             INTEGER NOT NULL DEFAULT 0,
    excerpt         TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    action          TEXT NOT NULL DEFAULT '',
    resolved_by     TEXT NOT NULL DEFAULT '',
    resolved_at     INTEGER,
    note            TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX reports_status ON reports (status, id);
CREATE INDEX reports_conversation ON reports (conversation_id, id);
CREATE INDEX reports_reporter ON reports (reporter_id, status);
