-- Files and media (issue 9). Times are INTEGER unix milliseconds UTC.
-- One row per uploaded file or avatar. A file is unsent while
-- conversation_id is NULL; AppendMessage binds it (conversation_id, seq).
-- Rows stay (deleted_at set) after their message is deleted or their avatar
-- replaced, until the sweep purges them; blobs are deleted by the sweep once
-- no row or upload part refers to them.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    purpose         TEXT NOT NULL,            -- 'file' | 'avatar'
    owner_id        TEXT NOT NULL,
    conversation_id TEXT,
    seq             INTEGER NOT NULL DEFAULT 0,
    name            TEXT NOT NULL,
    mime            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    blob_key        TEXT NOT NULL,
    thumb_key       TEXT NOT NULL DEFAULT '',
    thumb_mime      TEXT NOT NULL DEFAULT '',
    thumb_width     INTEGER NOT NULL DEFAULT 0,
    thumb_height    INTEGER NOT NULL DEFAULT 0,
    thumb_size      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE INDEX attachments_owner ON attachments (owner_id) WHERE deleted_at IS NULL;
CREATE INDEX attachments_message ON attachments (conversation_id, seq);
CREATE INDEX attachments_blob ON attachments (blob_key);
CREATE INDEX attachments_thumb ON attachments (thumb_key) WHERE thumb_key <> '';
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE conversation_id IS NULL AND purpose = 'file';
CREATE INDEX attachments_deleted ON attachments (deleted_at) WHERE deleted_at IS NOT NULL;

-- Resumable uploads in progress; parts are blobs, in offset order.
CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    received   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    offset    INTEGER NOT NULL,
    blob_key  TEXT NOT NULL,
    size      INTEGER NOT NULL,
    PRIMARY KEY (upload_id, offset)
) WITHOUT ROWID;
CREATE INDEX upload_parts_blob ON upload_parts (blob_key);

-- The metadata of a message's files, as Message.Attachments (JSON; '' for none).
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
