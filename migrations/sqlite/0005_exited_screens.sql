-- The last screen of an exited session whose host ran on another machine
-- (SPEC 13): written by the gateway that kept the host's books, so every
-- gateway shows it. Gone with the session.
CREATE TABLE exited_screens (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    rows INTEGER NOT NULL,
    cols INTEGER NOT NULL,
    snapshot BLOB NOT NULL
);
