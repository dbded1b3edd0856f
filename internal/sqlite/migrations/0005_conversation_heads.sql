-- A conversation's newest seq and last activity move out of the wide
-- conversations row into a narrow table of their own. Every committed batch
-- updates one of these rows per conversation it appended to; narrow rows
-- (a few hundred to a page instead of a few dozen) keep the pages a batch
-- dirties, and writes to the WAL, few when a batch spans many conversations.
CREATE TABLE conversation_heads (
    num      INTEGER PRIMARY KEY,        -- conversations.num
    last_seq INTEGER NOT NULL DEFAULT 0, -- seq of the newest message
    last_at  INTEGER NOT NULL            -- time of the last activity
);
INSERT INTO conversation_heads (num, last_seq, last_at) SELECT num, last_seq, last_at FROM conversations;
ALTER TABLE conversations DROP COLUMN last_seq;
ALTER TABLE conversations DROP COLUMN last_at;
