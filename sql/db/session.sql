-- Session settings behind a transaction-mode pooler (DATABASE_POOLER=transaction), where a
-- server session serves many clients one transaction at a time and keeps nothing of theirs.

-- name: set_transaction_limits(statement_timeout_ms, idle_in_transaction_session_timeout_ms)!
-- The service's timeouts for the rest of the current transaction only (is_local = true, as SET
-- LOCAL): what a direct connection sends once at start-up, each transaction brings along through
-- a pooler (db/pool.py Database). Milliseconds, 0 for none; touches no table.
SELECT set_config('statement_timeout', :statement_timeout_ms::int::text, true),
       set_config('idle_in_transaction_session_timeout', :idle_in_transaction_session_timeout_ms::int::text, true);

-- name: session_defaults()^
-- The timeouts a session starts with (what RESET returns to: the role's and database's
-- defaults, as a pooler's server session logs in with them), in milliseconds; a session's own
-- SET does not change them. Read once at start in pooler mode (db/pool.py needed_limits).
SELECT max(reset_val::int) FILTER (WHERE name = 'statement_timeout') AS statement_timeout_ms,
       max(reset_val::int) FILTER (WHERE name = 'idle_in_transaction_session_timeout')
           AS idle_in_transaction_session_timeout_ms
FROM pg_settings
WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout');
