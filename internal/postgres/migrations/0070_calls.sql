-- 1:1 audio/video calls (issue 26, docs/calls.md); mirrors
-- internal/sqlite/migrations/0070_calls.sql.
CREATE TABLE calls (
    id              TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    caller_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    callee_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    video           BOOLEAN NOT NULL,
    state           TEXT NOT NULL,
    end_reason      TEXT NOT NULL DEFAULT '',
    ended_by        TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    ring_until      BIGINT NOT NULL,
    answered_at     BIGINT,
    ended_at        BIGINT,
    caller_session  TEXT NOT NULL,
    callee_session  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_open_caller ON calls (caller_id) WHERE state <> 'ended';
CREATE INDEX calls_open_callee ON calls (callee_id) WHERE state <> 'ended';
CREATE INDEX calls_ringing ON calls (ring_until) WHERE state = 'ringing';
