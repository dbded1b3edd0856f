-- Message search, second step (issue 21): new messages are indexed off the
-- commit path. Indexing every append in its own transaction (the trigger of
-- 0020) made each small group-commit batch flush and merge FTS5 segments:
-- measured here it quadrupled the CPU per append (BenchmarkAppendIndexCost,
-- docs/benchmarks.md). Now a background indexer (searchindex.go) adds
-- messages in batches of up to 1,000 rows in rid order and records how far
-- it got in search_index_state.indexed_rid; SearchMessages scans the rows
-- after indexed_rid directly, so a message is found the moment it is
-- committed. Edits and deletes of indexed rows still update the index in
-- their own transaction (the triggers below); rows not yet indexed are left
-- to the indexer, which reads their current body.
CREATE TABLE search_index_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_rid INTEGER NOT NULL -- every messages row with rid <= this is in messages_fts
);
INSERT INTO search_index_state (id, indexed_rid) SELECT 1, coalesce(max(rid), 0) FROM messages;

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted ON messages
    WHEN (old.body IS NOT new.body OR old.deleted IS NOT new.deleted)
        AND old.rid <= (SELECT indexed_rid FROM search_index_state)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.rid, old.body WHERE old.kind = 'user' AND old.body <> '' AND old.deleted = 0;
    INSERT INTO messages_fts (rowid, body)
        SELECT new.rid, new.body WHERE new.kind = 'user' AND new.body <> '' AND new.deleted = 0;
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.kind = 'user' AND old.body <> '' AND old.deleted = 0
        AND old.rid <= (SELECT indexed_rid FROM search_index_state)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rid, old.body);
END;
