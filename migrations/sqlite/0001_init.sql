-- foyer schema, SQLite dialect. Keep in step with migrations/postgres/0001_init.sql.
-- Times are unix seconds (INTEGER); booleans are 0/1 integers.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    is_admin    INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at  INTEGER NOT NULL
);

CREATE TABLE user_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fingerprint  TEXT    NOT NULL UNIQUE,
    public_key   TEXT    NOT NULL,
    comment      TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX user_keys_by_user ON user_keys (user_id);

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    command         TEXT    NOT NULL,            -- JSON array of strings
    cwd             TEXT    NOT NULL,
    runtime         TEXT    NOT NULL DEFAULT 'local',
    state           TEXT    NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'exited')),
    exit_status     INTEGER,
    created_at      INTEGER NOT NULL,
    last_active_at  INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);

CREATE TABLE grants (
    session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access      TEXT    NOT NULL CHECK (access IN ('read', 'write')),
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX grants_by_user ON grants (user_id);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT,
    action   TEXT    NOT NULL,
    session  TEXT,
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_session ON audit (session, at);
