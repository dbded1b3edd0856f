-- Notifications (issue 19); mirrors internal/sqlite/migrations/0050_notifications.sql.
CREATE TABLE notify_prefs (
    user_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    level       TEXT NOT NULL,
    quiet_start TEXT NOT NULL DEFAULT '',
    quiet_end   TEXT NOT NULL DEFAULT '',
    time_zone   TEXT NOT NULL DEFAULT '',
    previews    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE conversation_notify (
    conversation_id TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    muted_until     BIGINT,
    mentions_only   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (conversation_id, user_id),
    FOREIGN KEY (conversation_id, user_id) REFERENCES members (conversation_id, user_id) ON DELETE CASCADE
);

CREATE TABLE notify_cursors (
    conversation_id TEXT COLLATE "C" PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    notified_seq    BIGINT NOT NULL
);
INSERT INTO notify_cursors (conversation_id, notified_seq) SELECT id, last_seq FROM conversations;

CREATE TABLE notifications (
    id              TEXT COLLATE "C" PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    count           INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    rev             BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX notifications_key ON notifications (user_id, conversation_id, channel);
CREATE INDEX notifications_due ON notifications (next_at);

-- Web Push subscriptions (RFC 8030): at most a configured number per user
-- (the oldest go first); an endpoint belongs to one user.
CREATE TABLE push_subscriptions (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint   TEXT COLLATE "C" NOT NULL UNIQUE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);

-- Server-wide secrets shared by every node (the VAPID key pair).
CREATE TABLE server_secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
