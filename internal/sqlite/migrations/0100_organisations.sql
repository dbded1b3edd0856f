-- Organisations: isolated tenants of one deployment (docs/organisations.md).
-- Times are INTEGER unix milliseconds UTC. Every existing user, conversation
-- and invite belongs to the built-in default organisation, whose id is
-- parley.DefaultOrgID.
CREATE TABLE organisations (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    registration  TEXT NOT NULL DEFAULT 'open' CHECK (registration IN ('open', 'invite', 'closed')),
    limits        TEXT NOT NULL DEFAULT '{}',
    require_2fa   INTEGER NOT NULL DEFAULT 0 CHECK (require_2fa IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
INSERT INTO organisations (id, slug, name, created_at, updated_at)
VALUES ('00000000000000000000000000', 'default', 'Default', CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

ALTER TABLE users ADD COLUMN org_id TEXT NOT NULL DEFAULT '00000000000000000000000000';
CREATE INDEX users_org_username ON users (org_id, username);

ALTER TABLE conversations ADD COLUMN org_id TEXT NOT NULL DEFAULT '00000000000000000000000000';
CREATE INDEX conversations_org_public ON conversations (org_id, title_lower, id) WHERE public = 1;

ALTER TABLE invites ADD COLUMN org_id TEXT NOT NULL DEFAULT '00000000000000000000000000';
