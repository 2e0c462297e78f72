-- Where a session's host runs when it is not on this machine (SPEC 13,
-- [cluster]): its swarm service and NODE_ADDRESS:PORT. NULL: a host on the
-- gateway's machine, reached through data/hosts/ID.sock.
ALTER TABLE sessions ADD COLUMN host_service TEXT;
ALTER TABLE sessions ADD COLUMN host_address TEXT;
