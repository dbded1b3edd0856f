-- Where each persistent gateway session (an MQTT client id) stands in the
-- conversations it follows (parley.PositionStore). expires_at is Unix ms.
CREATE TABLE session_positions (
    session         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (session, conversation_id)
) WITHOUT ROWID;
CREATE INDEX session_positions_expiry ON session_positions (expires_at);
