-- The estimate behind a filtered list of users' "about N" total (sql/accounts/users.sql,
-- list_users): the planner's row estimate for the same filters, read from the statistics
-- ANALYZE keeps, in under a millisecond at any size. It replaces a 1% sample of the table's
-- pages, which read about 10,000 rows at a million users on every request for a total.
--
-- The search expression's statistics keep 1,000 entries (the default target keeps 100): the
-- planner estimates a substring by the share of histogram entries that hold it, so a name one
-- user in 24 has comes within a few percent of its count, where 100 entries miss by half.
-- ANALYZE of users then samples 300,000 rows, not 30,000; this migration runs one, so the
-- estimates hold from the start (it takes a lock that blocks neither reads nor writes).
--
-- VOLATILE because PostgreSQL runs EXPLAIN in no other kind of function. Parameters bound
-- with USING are constants to a one-off plan, so the planner folds the filters left NULL away
-- and estimates the rest with their values, as for a statement written with literals.
-- depends: 0021_private_reads
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER INDEX users_search_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
ANALYZE users;

CREATE FUNCTION estimate_live_users(is_active boolean, q text, prefers jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    plan json;
BEGIN
    -- The filters of list_users' `matching`, which users_search_trgm_idx's expression matches.
    EXECUTE $sql$
        EXPLAIN (FORMAT JSON)
        SELECT FROM users
        WHERE deleted_at IS NULL
          AND ($1 IS NULL OR is_active = $1)
          AND ($2 IS NULL OR (name || ' ' || email) ILIKE like_contains($2))
          AND ($3 IS NULL OR preferences @> $3)
    $sql$
        INTO plan
        USING is_active, q, prefers;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$;
