SET LOCAL lock_timeout = '5s';

DROP FUNCTION like_contains(text);
DROP FUNCTION set_updated_at();
DROP FUNCTION uuid_v7();

-- The extensions stay: the bootstrap made them as a superuser, and only a superuser may drop
-- them (DROP EXTENSION earthdistance, cube, btree_gist, pg_trgm).
