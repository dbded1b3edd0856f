-- Blocks, conversation rules, mutes, bans and the slow-mode clock (issue 20).
-- Times are INTEGER unix milliseconds UTC.
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);

-- One row per conversation with rules; conversation_id '' holds the
-- server-wide rules. rules is the JSON form of parley.ConversationRules.
CREATE TABLE conversation_rules (
    conversation_id TEXT PRIMARY KEY,
    rules           TEXT NOT NULL
) WITHOUT ROWID;

-- Per-member moderation state; absent row: not muted, no post seen.
CREATE TABLE member_moderation (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    muted_until     INTEGER NOT NULL DEFAULT 0,
    last_post_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

CREATE TABLE bans (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
