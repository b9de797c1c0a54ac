SET LOCAL lock_timeout = '5s';

DROP FUNCTION like_contains(text);
DROP FUNCTION set_updated_at();
DROP FUNCTION uuid_v7();

DROP EXTENSION earthdistance;
DROP EXTENSION cube;
DROP EXTENSION btree_gist;
DROP EXTENSION pg_trgm;
