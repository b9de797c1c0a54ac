-- Back to the default statistics target for the search expression. The function is this
-- migration's own, and only the code that came with it calls it: the code a rollback goes
-- back to counts and samples in list_users itself.
-- squawk-ignore-file ban-drop-function
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP FUNCTION count_live_users(boolean, text, jsonb, bigint);
ALTER INDEX users_search_trgm_idx ALTER COLUMN 1 SET STATISTICS -1;
