-- Conversation analytics counters (issue 20): one row per conversation,
-- hour (unix time / 3600) and user who posted or reacted in it. Sends add to
-- them (batched per node); reads sum a range of hours, never the messages.
CREATE TABLE stats (
    conversation_id TEXT NOT NULL,
    hour            INTEGER NOT NULL,
    user_id         TEXT NOT NULL,
    messages        INTEGER NOT NULL DEFAULT 0,
    reactions       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, hour, user_id)
) WITHOUT ROWID;
