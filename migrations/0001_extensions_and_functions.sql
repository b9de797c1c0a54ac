-- Extensions the service needs and functions every table shares.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

-- UUIDv7 (RFC 9562): a 48-bit Unix millisecond timestamp followed by random bits, so new keys
-- land at the right edge of their B-tree and ids sort by creation time. PostgreSQL 18 has a
-- built-in uuidv7(); this one works on 16 and 17 too, from a random v4 with its version bits
-- turned to 7 (bits 52 and 53) and its first 48 bits replaced by the clock.
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN encode(
    set_bit(
        set_bit(
            overlay(
                uuid_send(gen_random_uuid())
                PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                FROM 1 FOR 6
            ),
            52, 1
        ),
        53, 1
    ),
    'hex'
)::uuid;

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
