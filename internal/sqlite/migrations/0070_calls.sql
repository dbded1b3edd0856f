-- 1:1 audio/video calls (issue 26, docs/calls.md). A call's row lives on
-- after it ends (its record in history is a system message); the partial
-- indexes cover only the calls not ended, which the busy check reads.
CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    caller_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    callee_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    video           INTEGER NOT NULL,
    state           TEXT NOT NULL,
    end_reason      TEXT NOT NULL DEFAULT '',
    ended_by        TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    ring_until      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER,
    caller_session  TEXT NOT NULL,
    callee_session  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX calls_open_caller ON calls (caller_id) WHERE state <> 'ended';
CREATE INDEX calls_open_callee ON calls (callee_id) WHERE state <> 'ended';
CREATE INDEX calls_ringing ON calls (ring_until) WHERE state = 'ringing';
