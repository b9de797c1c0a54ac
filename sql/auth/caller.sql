-- The caller a transaction acts for, read by the row-level security policies (migration 0007).

-- name: set_caller(user_id, role)!
-- Names the caller for the rest of the current transaction only (is_local = true), so nothing
-- carries over to the next borrower of a pooled connection, nor, behind a transaction-mode
-- pooler, to the next client of its server session (tests/db/test_pgbouncer.py). An empty
-- user_id names no user (staff tooling acting by role alone). name_caller is migration 0021's;
-- its private reads name the caller themselves, in one statement.
SELECT name_caller(:user_id::uuid, :role::text);
