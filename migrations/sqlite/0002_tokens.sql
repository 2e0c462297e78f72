-- Tokens for the browser and the JSON API, SQLite dialect. Keep in step
-- with migrations/postgres/0002_tokens.sql. Only a SHA-256 of each token
-- is stored (hex); the token itself is shown once, when it is made.
--   login   one-time sign-in link (`link NAME`): used once, then `used_at` is set
--   cookie  a browser's sign-in, made by exchanging a login token
--   guest   read-only guest link to one session (`link NAME --guest`)
--   api     bearer token for the JSON API (`token create`)
-- `revoked_at` is set by `link --revoke` and `token revoke`.

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL CHECK (kind IN ('login', 'cookie', 'guest', 'api')),
    hash          TEXT    NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id    INTEGER REFERENCES sessions (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    used_at       INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id, kind);
