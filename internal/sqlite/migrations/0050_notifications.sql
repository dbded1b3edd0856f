-- Notifications (issue 19): settings and the durable notification queue.
-- Nothing here is written on the message path. A notifier (internal/app
-- notifier.go) derives queue entries from committed messages: it reads the
-- messages of a conversation after notify_cursors.notified_seq and, in one
-- transaction, enqueues the entries and moves the cursor (compare-and-set,
-- so two nodes never enqueue the same range twice).

CREATE TABLE notify_prefs (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    level       TEXT NOT NULL,
    quiet_start TEXT NOT NULL DEFAULT '', -- HH:MM, '' for no quiet hours
    quiet_end   TEXT NOT NULL DEFAULT '',
    time_zone   TEXT NOT NULL DEFAULT '',
    previews    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE conversation_notify (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    muted_until     INTEGER,                  -- unix ms; NULL: not muted
    mentions_only   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id),
    FOREIGN KEY (conversation_id, user_id) REFERENCES members (conversation_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Existing conversations start with every message already considered, so
-- turning the feature on does not notify of old history.
CREATE TABLE notify_cursors (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    notified_seq    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO notify_cursors (conversation_id, notified_seq)
    SELECT c.id, h.last_seq FROM conversations c JOIN conversation_heads h ON h.num = c.num;

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    rev             INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL, -- unix ms
    created_at      INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE UNIQUE INDEX notifications_key ON notifications (user_id, conversation_id, channel);
CREATE INDEX notifications_due ON notifications (next_at);

-- Web Push subscriptions (RFC 8030): at most a configured number per user
-- (the oldest go first); an endpoint belongs to one user.
CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);

-- Server-wide secrets shared by every node (the VAPID key pair).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
