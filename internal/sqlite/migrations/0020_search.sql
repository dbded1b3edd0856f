-- Message search (issue 21). messages_fts is an external-content FTS5 index
-- over the bodies of user messages, with the trigram tokenizer: any
-- substring of three or more characters matches, so words in scripts
-- written without spaces (Chinese, Japanese, Thai) and parts of words are
-- found; case and diacritics are folded. Triggers keep it in step with the
-- messages table inside the writing transaction: an edit replaces the
-- indexed body, a delete (body set to '') removes it. System messages and
-- empty bodies are never indexed.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body,
    content = 'messages',
    content_rowid = 'rid',
    tokenize = 'trigram remove_diacritics 1',
    detail = 'full'
);

INSERT INTO messages_fts (rowid, body)
    SELECT rid, body FROM messages WHERE kind = 'user' AND body <> '' AND deleted = 0;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.kind = 'user' AND new.body <> '' AND new.deleted = 0
BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.rid, new.body);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted ON messages
    WHEN old.body IS NOT new.body OR old.deleted IS NOT new.deleted
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.rid, old.body WHERE old.kind = 'user' AND old.body <> '' AND old.deleted = 0;
    INSERT INTO messages_fts (rowid, body)
        SELECT new.rid, new.body WHERE new.kind = 'user' AND new.body <> '' AND new.deleted = 0;
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.kind = 'user' AND old.body <> '' AND old.deleted = 0
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rid, old.body);
END;
