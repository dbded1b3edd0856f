-- End-to-end encryption (issue 25, docs/e2ee.md): the encrypted flag of
-- conversations, the envelope of their messages (JSON, '' otherwise), device
-- public keys, one-time prekeys and the opaque key backup. Times are unix ms.
ALTER TABLE conversations ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN e2ee TEXT NOT NULL DEFAULT '';

CREATE TABLE e2ee_devices (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    identity_sign   BLOB NOT NULL UNIQUE,
    identity_dh     BLOB NOT NULL,
    identity_dh_sig BLOB NOT NULL,
    spk_id          INTEGER NOT NULL,
    spk             BLOB NOT NULL,
    spk_sig         BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX e2ee_devices_user ON e2ee_devices (user_id, created_at);

CREATE TABLE e2ee_prekeys (
    device_id TEXT NOT NULL REFERENCES e2ee_devices (id) ON DELETE CASCADE,
    id        INTEGER NOT NULL,
    key       BLOB NOT NULL,
    PRIMARY KEY (device_id, id)
) WITHOUT ROWID;

CREATE TABLE e2ee_backups (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    blob       BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
