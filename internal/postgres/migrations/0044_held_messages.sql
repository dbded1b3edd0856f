-- Held messages (issue 20); mirrors internal/sqlite/migrations/0044_held_messages.sql.
ALTER TABLE reports ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE reports ADD COLUMN client_msg_id TEXT NOT NULL DEFAULT '';
