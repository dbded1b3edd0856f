-- Mobile push devices (FCM, APNs) of issue 19: at most a configured number
-- per user (the oldest go first); a token belongs to one user.
CREATE TABLE push_devices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform   TEXT NOT NULL,
    token      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (platform, token)
);
CREATE INDEX push_devices_user ON push_devices (user_id, created_at);
