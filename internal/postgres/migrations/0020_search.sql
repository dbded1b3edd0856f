-- Message search (issue 21); the PostgreSQL side of
-- internal/sqlite/migrations/0020_search.sql. A trigram GIN index (pg_trgm)
-- serves case-insensitive substring matches (ILIKE) of three or more
-- characters, so scripts written without spaces and parts of words are
-- found; ranking uses ts_rank over to_tsvector('simple', body), computed on
-- the candidate rows only. The index is part of the table: edits and deletes
-- (body set to '') are reflected in the same transaction. Only live user
-- messages are indexed (partial index), which keeps system messages and
-- tombstones out of it.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a
-- database owner may create it. It is created once per database, in schema
-- public unless it already exists elsewhere; the index names its operator
-- class through the extension's schema, so every schema (one per test, or
-- per deployment) can use it. A transaction-level advisory lock serialises
-- the CREATE EXTENSION of schemas migrating at the same moment.
SELECT pg_advisory_xact_lock(hashtext('parley.extension.pg_trgm'));
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
DO $$
DECLARE
    ext_schema TEXT;
BEGIN
    SELECT n.nspname INTO ext_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX messages_body_trgm ON messages USING gin (body %I.gin_trgm_ops)
        WHERE kind = ''user'' AND NOT deleted AND body <> ''''', ext_schema);
END
$$;
