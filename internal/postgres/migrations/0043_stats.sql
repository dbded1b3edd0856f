-- Conversation analytics counters (issue 20); mirrors
-- internal/sqlite/migrations/0043_stats.sql.
CREATE TABLE stats (
    conversation_id TEXT COLLATE "C" NOT NULL,
    hour            BIGINT NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    messages        BIGINT NOT NULL DEFAULT 0,
    reactions       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, hour, user_id)
);
