-- Conversations, members, messages, reactions. Owned by the conversations
-- slice (issue 3). Times are INTEGER unix milliseconds UTC.
-- num is the compact key messages use (their index entries stay small, so a
-- batch of appends dirties few pages); id is the public id.
CREATE TABLE conversations (
    num          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    title_lower  TEXT NOT NULL DEFAULT '',
    topic        TEXT NOT NULL DEFAULT '',
    avatar_url   TEXT NOT NULL DEFAULT '',
    public       INTEGER NOT NULL DEFAULT 0,
    broadcast    INTEGER NOT NULL DEFAULT 0,
    direct_key   TEXT UNIQUE,               -- NULL unless kind = 'direct'
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL DEFAULT 0, -- seq of the newest message
    last_at      INTEGER NOT NULL,           -- time of the last activity
    member_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_public ON conversations (title_lower, id) WHERE public = 1;

-- One row per current member. delivered_seq/read_seq are receipts (written
-- by the real-time slice; never decrease). Nothing here is written on the
-- message send path (no per-recipient writes).
CREATE TABLE members (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    joined_at       INTEGER NOT NULL,
    delivered_seq   INTEGER NOT NULL DEFAULT 0,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    muted           INTEGER NOT NULL DEFAULT 0,
    pinned          INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members (user_id, conversation_id);

-- The history. Rows are appended in commit order (rid), so a batch of
-- appends writes to the right edge of the table; (conv, seq) is the unique
-- key, seq gap-free per conversation; (client_msg_id, sender_id) is the
-- idempotency key.
CREATE TABLE messages (
    rid             INTEGER PRIMARY KEY,
    conv            INTEGER NOT NULL,        -- conversations.num
    seq             INTEGER NOT NULL,
    id              TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    client_msg_id   TEXT,                    -- NULL for system messages
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    reply_to        INTEGER NOT NULL DEFAULT 0,
    mentions        TEXT NOT NULL DEFAULT '', -- space-separated user ids
    system          TEXT NOT NULL DEFAULT '', -- JSON SystemInfo for system messages
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_seq ON messages (conv, seq);
-- client_msg_id first: clients that use time-ordered ids (the SDK uses
-- parley.NewID) then append to the right edge of the index, one leaf page per
-- batch instead of one per sender.
CREATE UNIQUE INDEX messages_client ON messages (client_msg_id, sender_id) WHERE client_msg_id IS NOT NULL;

-- Earlier bodies of edited messages.
CREATE TABLE message_versions (
    conversation_id TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    body            TEXT NOT NULL,
    mentions        TEXT NOT NULL DEFAULT '',
    until_at        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq, version)
) WITHOUT ROWID;

CREATE TABLE reactions (
    conversation_id TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    emoji           TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq, emoji, user_id)
) WITHOUT ROWID;
