-- Health: what /ready asks the database.

-- name: ping()$
-- One round trip that proves a pooled connection can run a statement; touches no table.
SELECT 1;
