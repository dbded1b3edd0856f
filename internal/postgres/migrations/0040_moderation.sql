-- Blocks, conversation rules, mutes, bans and the slow-mode clock (issue 20);
-- mirrors internal/sqlite/migrations/0040_moderation.sql.
CREATE TABLE blocks (
    blocker_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);

CREATE TABLE conversation_rules (
    conversation_id TEXT COLLATE "C" PRIMARY KEY,
    rules           TEXT NOT NULL
);

CREATE TABLE member_moderation (
    conversation_id TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    muted_until     BIGINT NOT NULL DEFAULT 0,
    last_post_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE bans (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT COLLATE "C" NOT NULL,
    actor_id        TEXT COLLATE "C" NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
