-- Contacts, contact requests and privacy settings (issue 21); mirrors
-- internal/sqlite/migrations/0021_contacts.sql.
CREATE TABLE contacts (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, contact_id)
);

CREATE TABLE contact_requests (
    from_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (from_id, to_id)
);
CREATE INDEX contact_requests_to ON contact_requests (to_id, created_at);

CREATE TABLE privacy_settings (
    user_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    find_me     TEXT NOT NULL,
    direct_from TEXT NOT NULL
);
