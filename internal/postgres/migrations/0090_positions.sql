-- Where each persistent gateway session (an MQTT client id) stands in the
-- conversations it follows (parley.PositionStore). expires_at is Unix ms.
-- Mirrors internal/sqlite/migrations/0090_positions.sql.
CREATE TABLE session_positions (
    session         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (session, conversation_id)
);
CREATE INDEX session_positions_expiry ON session_positions (expires_at);
