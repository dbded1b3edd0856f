-- Phone verification by SMS code (issue 19): one pending code per user
-- (hashed, expiring, limited attempts) and the verified number.
CREATE TABLE phone_codes (
    user_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone      TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE phone_verified (
    user_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    verified_at BIGINT NOT NULL
);
