-- Extensions the service needs and functions every table shares. `bookshop db bootstrap`
-- creates the extensions as a superuser (earthdistance is not a trusted extension), so for the
-- owner role that runs migrations these are no-ops that record what the schema relies on.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

-- UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the version, 12 bits of sub-millisecond time
-- (the RFC's method 3, as PostgreSQL 18's own uuidv7() does) and 62 random bits. New keys land
-- at the right edge of their B-tree, and ids sort by creation time to about 250 ns, so the id
-- alone orders "newest first". Written in SQL so it works on PostgreSQL 16 and 17 as well.
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN (
    SELECT encode(
        substring(int8send(micros / 1000) FROM 3)                       -- 48-bit Unix milliseconds
        || int2send((28672 + (micros % 1000) * 4096 / 1000)::smallint)  -- 0x7000: version 7, then sub-ms
        || substring(uuid_send(gen_random_uuid()) FROM 9),              -- variant bits and 62 random bits
        'hex'
    )::uuid
    FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS micros) AS clock
);

-- Keeps updated_at true for every kind of write (bulk, raw, from psql), not only the app's.
-- Triggers call it with WHEN (OLD IS DISTINCT FROM NEW), so a no-op update leaves it alone.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- '%fragment%' for LIKE/ILIKE with the fragment's own wildcards escaped, so user input such as
-- '50%' or 'a_b' matches literally. Immutable and inlined, so trigram indexes still serve it.
CREATE FUNCTION like_contains(fragment text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN '%' || replace(replace(replace(fragment, '\', '\\'), '%', '\%'), '_', '\_') || '%';
