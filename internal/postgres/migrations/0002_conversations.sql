-- Conversations, members, messages, reactions (mirrors
-- internal/sqlite/migrations/0002_conversations.sql). Times are BIGINT Unix
-- milliseconds UTC.
CREATE TABLE conversations (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    title_lower  TEXT COLLATE "C" NOT NULL DEFAULT '',
    topic        TEXT NOT NULL DEFAULT '',
    avatar_url   TEXT NOT NULL DEFAULT '',
    public       BOOLEAN NOT NULL DEFAULT FALSE,
    broadcast    BOOLEAN NOT NULL DEFAULT FALSE,
    direct_key   TEXT COLLATE "C" UNIQUE,     -- NULL unless kind = 'direct'
    created_by   TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL DEFAULT 0,   -- seq of the newest message; row-locked by every append
    last_at      BIGINT NOT NULL,             -- time of the last activity
    member_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_public ON conversations (title_lower, id) WHERE public;
CREATE INDEX conversations_recent ON conversations (last_at DESC, id DESC);

-- One row per current member. delivered_seq/read_seq are receipts (never
-- decrease). Nothing here is written on the message send path.
CREATE TABLE members (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    joined_at       BIGINT NOT NULL,
    delivered_seq   BIGINT NOT NULL DEFAULT 0,
    read_seq        BIGINT NOT NULL DEFAULT 0,
    muted           BOOLEAN NOT NULL DEFAULT FALSE,
    pinned          BOOLEAN NOT NULL DEFAULT FALSE,
    archived        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members (user_id, conversation_id);

-- The history. (conversation_id, seq) is the primary key; seq is gap-free.
-- (sender_id, client_msg_id) is the idempotency key, unique across nodes.
CREATE TABLE messages (
    conversation_id TEXT COLLATE "C" NOT NULL,
    seq             BIGINT NOT NULL,
    id              TEXT COLLATE "C" NOT NULL,
    sender_id       TEXT COLLATE "C" NOT NULL,
    client_msg_id   TEXT COLLATE "C",         -- NULL for system messages
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    reply_to        BIGINT NOT NULL DEFAULT 0,
    mentions        TEXT NOT NULL DEFAULT '', -- space-separated user ids
    system          TEXT NOT NULL DEFAULT '', -- JSON SystemInfo for system messages
    created_at      BIGINT NOT NULL,
    edited_at       BIGINT,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;

-- Earlier bodies of edited messages.
CREATE TABLE message_versions (
    conversation_id TEXT COLLATE "C" NOT NULL,
    seq             BIGINT NOT NULL,
    version         INTEGER NOT NULL,
    body            TEXT NOT NULL,
    mentions        TEXT NOT NULL DEFAULT '',
    until_at        BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq, version)
);

CREATE TABLE reactions (
    conversation_id TEXT COLLATE "C" NOT NULL,
    seq             BIGINT NOT NULL,
    emoji           TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq, emoji, user_id)
);
