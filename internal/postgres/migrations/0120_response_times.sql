-- Response times of the conversation analytics (issue 20); mirrors
-- internal/sqlite/migrations/0120_response_times.sql (the head columns are
-- on conversations here).
ALTER TABLE conversations ADD COLUMN last_user TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN last_user_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats ADD COLUMN responses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats ADD COLUMN response_ms BIGINT NOT NULL DEFAULT 0;
CREATE TABLE stats_responses (
    conversation_id TEXT COLLATE "C" NOT NULL,
    hour            BIGINT NOT NULL,
    bucket          INTEGER NOT NULL,
    count           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, hour, bucket)
);
