-- A rollback drops what its migration made: that is its purpose, so squawk's ban-drop rules,
-- which keep forward migrations from breaking clients, do not apply to it.
-- squawk-ignore-file ban-drop-table
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP TABLE venues;
