-- Contacts, contact requests and privacy settings (issue 21). A contact is
-- stored once per direction, so a user's contacts are one range scan.
CREATE TABLE contacts (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, contact_id)
) WITHOUT ROWID;

CREATE TABLE contact_requests (
    from_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (from_id, to_id)
) WITHOUT ROWID;
CREATE INDEX contact_requests_to ON contact_requests (to_id, created_at);

-- Absent row: the defaults (everyone, everyone).
CREATE TABLE privacy_settings (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    find_me     TEXT NOT NULL,
    direct_from TEXT NOT NULL
) WITHOUT ROWID;
