-- A rollback drops what its migration made: that is its purpose, so squawk's ban-drop rules,
-- which keep forward migrations from breaking clients, do not apply to it.
-- squawk-ignore-file ban-drop-function
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP FUNCTION like_contains(text);
DROP FUNCTION set_updated_at();
DROP FUNCTION uuid_v7();

-- The extensions stay: the bootstrap made them as a superuser, and only a superuser may drop
-- them (DROP EXTENSION earthdistance, cube, btree_gist, pg_trgm).
