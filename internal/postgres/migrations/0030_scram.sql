-- The SCRAM-SHA-256 verifier of each account for the XMPP gateway
-- (docs/xmpp.md); '' until derived. SetPasswordHash clears it.
-- Mirrors internal/sqlite/migrations/0030_scram.sql.
ALTER TABLE users ADD COLUMN scram_keys TEXT NOT NULL DEFAULT '';
