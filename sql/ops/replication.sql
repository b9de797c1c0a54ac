-- Replication: what the read-replica watcher (db/replica.py) asks the replica, once per
-- REPLICA_CHECK_SECONDS, never per request.

-- name: replica_lag_seconds()$
-- How far behind the primary the replica's data is, in seconds; reads system functions only.
-- 0 when the replica has replayed all the WAL it received (an idle primary sends none, so
-- the age of the last replayed commit is not lag), or when the server is no standby at all;
-- otherwise the age of the last commit it replayed. Infinity when WAL waits to be replayed
-- and no commit has been replayed since the replica started: unknown, so not fresh.
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
END::float8 AS lag_seconds;
