-- Organisations: isolated tenants of one deployment (docs/organisations.md).
-- Times: unix ms UTC. Mirrors internal/sqlite/migrations/0100_organisations.sql.
CREATE TABLE organisations (
    id            TEXT COLLATE "C" PRIMARY KEY,
    slug          TEXT COLLATE "C" NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    registration  TEXT NOT NULL DEFAULT 'open' CHECK (registration IN ('open', 'invite', 'closed')),
    limits        TEXT NOT NULL DEFAULT '{}',
    require_2fa   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
INSERT INTO organisations (id, slug, name, created_at, updated_at)
VALUES ('00000000000000000000000000', 'default', 'Default',
        (extract(epoch FROM now()) * 1000)::BIGINT, (extract(epoch FROM now()) * 1000)::BIGINT);

ALTER TABLE users ADD COLUMN org_id TEXT COLLATE "C" NOT NULL DEFAULT '00000000000000000000000000';
CREATE INDEX users_org_username ON users (org_id, username);

ALTER TABLE conversations ADD COLUMN org_id TEXT COLLATE "C" NOT NULL DEFAULT '00000000000000000000000000';
CREATE INDEX conversations_org_public ON conversations (org_id, title_lower, id) WHERE public;

ALTER TABLE invites ADD COLUMN org_id TEXT COLLATE "C" NOT NULL DEFAULT '00000000000000000000000000';
