-- Message search, third step (issue 28): the FTS5 index moves out of this
-- database into its own file (IndexFileName, next to this one), written by
-- its own connection, so that indexing never holds this database's single
-- writer and the message committer never queues behind it
-- (docs/benchmarks.md "Performance round two"). The index is derived data:
-- the indexer (searchindex.go) builds it from the messages table and the
-- change queue below, and rebuilds it from scratch when it is missing or
-- belongs to another database (search_index_owner). SearchMessages scans
-- what the index does not cover yet, so results never depend on it.
--
-- Triggers cannot reach another database file, so edits and deletes no
-- longer update the index in their own transaction: they append the row's
-- rid to search_changes, which the indexer applies (re-deriving the row's
-- entry from its current state) and SearchMessages treats as not indexed
-- until then. AUTOINCREMENT: a seq is never reused, also after the applied
-- rows are removed, as the index records how far it applied the queue. A
-- deleted row of any kind is queued, because its rid may be reused by the
-- next message when it was the newest.
DROP TRIGGER IF EXISTS messages_fts_update;
DROP TRIGGER IF EXISTS messages_fts_delete;
DROP TABLE IF EXISTS messages_fts;
DROP TABLE IF EXISTS search_index_state;

CREATE TABLE search_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rid INTEGER NOT NULL
);

CREATE TRIGGER search_changes_update AFTER UPDATE OF body, deleted ON messages
    WHEN old.body IS NOT new.body OR old.deleted IS NOT new.deleted
BEGIN
    INSERT INTO search_changes (rid) VALUES (old.rid);
END;

CREATE TRIGGER search_changes_delete AFTER DELETE ON messages
BEGIN
    INSERT INTO search_changes (rid) VALUES (old.rid);
END;

-- The index file records this id; an index file with another id (a copy
-- from elsewhere, a restored backup, whose Snapshot gives it a new id) is
-- rebuilt.
CREATE TABLE search_index_owner (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL
);
INSERT INTO search_index_owner (id, owner) VALUES (1, lower(hex(randomblob(16))));
