-- The caller a transaction acts for, read by the row-level security policies (migration 0007).

-- name: set_caller(user_id, role)!
-- Names the caller for the rest of the current transaction only (is_local = true), so nothing
-- carries over to the next borrower of a pooled connection, nor, behind a transaction-mode
-- pooler, to the next client of its server session (tests/db/test_pgbouncer.py). An empty
-- user_id names no user (staff tooling acting by role alone).
SELECT set_config('app.user_id', coalesce(:user_id::text, ''), true),
       set_config('app.role', :role::text, true);
