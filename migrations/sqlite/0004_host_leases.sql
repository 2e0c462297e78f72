-- Which gateway keeps the books of each session host on another machine
-- (SPEC 13): records its sessions' exits and activity. A lease renewed
-- every 2 s, taken over once it has not been for 6 s; `epoch` grows at
-- each takeover and every write it guards names it (a fencing token).
-- `expires_at` in unix milliseconds.
CREATE TABLE host_leases (
    service TEXT PRIMARY KEY,
    gateway TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
