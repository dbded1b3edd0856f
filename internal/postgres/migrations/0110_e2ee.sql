-- End-to-end encryption (issue 25, docs/e2ee.md); mirrors
-- internal/sqlite/migrations/0110_e2ee.sql. Times are unix ms.
ALTER TABLE conversations ADD COLUMN encrypted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE messages ADD COLUMN e2ee TEXT NOT NULL DEFAULT '';

CREATE TABLE e2ee_devices (
    id              TEXT COLLATE "C" PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    identity_sign   BYTEA NOT NULL UNIQUE,
    identity_dh     BYTEA NOT NULL,
    identity_dh_sig BYTEA NOT NULL,
    spk_id          BIGINT NOT NULL,
    spk             BYTEA NOT NULL,
    spk_sig         BYTEA NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX e2ee_devices_user ON e2ee_devices (user_id, created_at);

CREATE TABLE e2ee_prekeys (
    device_id TEXT COLLATE "C" NOT NULL REFERENCES e2ee_devices (id) ON DELETE CASCADE,
    id        BIGINT NOT NULL,
    key       BYTEA NOT NULL,
    PRIMARY KEY (device_id, id)
);

CREATE TABLE e2ee_backups (
    user_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    blob       BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
