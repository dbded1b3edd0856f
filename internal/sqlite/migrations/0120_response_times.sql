-- Response times of the conversation analytics (issue 20, docs/moderation.md).
-- The head keeps the newest user message's sender and time (unix ms), read
-- and written by the append transaction with last_seq; the stats rows gain
-- each user's responses and their summed response times; stats_responses is
-- the log-spaced histogram of response times per conversation, hour and
-- bucket (parley.ResponseBucket).
ALTER TABLE conversation_heads ADD COLUMN last_user TEXT NOT NULL DEFAULT '';
ALTER TABLE conversation_heads ADD COLUMN last_user_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stats ADD COLUMN responses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stats ADD COLUMN response_ms INTEGER NOT NULL DEFAULT 0;
CREATE TABLE stats_responses (
    conversation_id TEXT NOT NULL,
    hour            INTEGER NOT NULL,
    bucket          INTEGER NOT NULL,
    count           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, hour, bucket)
) WITHOUT ROWID;
