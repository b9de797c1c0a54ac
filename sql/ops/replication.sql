-- Replication: what the read-replica watcher (db/replica.py) asks, once per
-- REPLICA_CHECK_SECONDS, never per request. Lag is measured by WAL position: the watcher notes
-- when the primary was at each position, and the replica is as far behind as the oldest noted
-- position it has not replayed yet. Both read system functions only.

-- name: primary_wal_position()$
-- Where the primary's WAL is now, in bytes from the start; asked on the primary. Fails on a
-- standby (recovery is in progress), which the watcher takes as a primary it cannot ask.
SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS position;

-- name: replayed_wal_position()$
-- How far the replica has replayed the WAL, in bytes from the start; asked on the replica.
-- NULL when the server is no standby (never one, or promoted): nothing to lag behind.
SELECT CASE
    WHEN pg_is_in_recovery() THEN coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0)
END AS position;
