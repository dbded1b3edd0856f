-- Held messages (a deny list with action "hold") wait in the reports queue
-- (issue 20): held marks them, client_msg_id is posted with them on approval.
ALTER TABLE reports ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN client_msg_id TEXT NOT NULL DEFAULT '';
