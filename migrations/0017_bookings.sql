-- Bookings of venues for a period. Double booking is impossible by constraint: the exclusion
-- constraint refuses any live booking whose period overlaps another live booking of the same
-- venue, whatever the writer (service, psql, a bulk load) and however concurrent. Periods are
-- half-open [starts, ends), so one booking may end exactly when the next begins.
-- A private table: row-level security as in 0007.
-- depends: 0016_venues
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE bookings (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    venue_id   uuid NOT NULL REFERENCES venues (id),
    user_id    uuid NOT NULL REFERENCES users (id),
    during     tstzrange NOT NULL,
    -- The start, stored for the indexes that order and filter by it. Under row-level security
    -- only leakproof conditions may use an index before the policy runs: timestamptz's < and >=
    -- are, lower(tstzrange) is not, so an index on lower(during) would go unused by the service.
    starts_at  timestamptz NOT NULL GENERATED ALWAYS AS (lower(during)) STORED,
    amount     numeric(12, 2) NOT NULL CHECK (amount >= 0),
    status     text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'confirmed', 'completed', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A finite, non-empty [) range: tstzrange(a, b) is [) by default, but a literal need not be.
    CONSTRAINT bookings_during_finite_half_open CHECK (
        NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)
        AND lower_inc(during) AND NOT upper_inc(during)
    ),
    -- btree_gist lets GiST compare uuids with =. Cancelled bookings free their slot. Its
    -- partial index also serves "a venue's live bookings in a period" (availability).
    CONSTRAINT bookings_no_double_booking
        EXCLUDE USING gist (venue_id WITH =, during WITH &&) WHERE (status <> 'cancelled')
);

-- A customer's bookings, latest start first, by keyset on (start, id); indexes the user_id
-- foreign key and the row-level security policy's column.
CREATE INDEX bookings_user_starts_idx ON bookings (user_id, starts_at DESC, id DESC);

-- A venue's bookings of every status in a period (during &&), for staff; indexes the venue_id
-- foreign key, which the partial exclusion index cannot.
CREATE INDEX bookings_venue_during_idx ON bookings USING gist (venue_id, during);

-- Revenue stats by the day bookings start or by venue: the covering columns let the stats
-- read the index alone (user_id is there for the row-level security policy).
CREATE INDEX bookings_starts_idx ON bookings (starts_at) INCLUDE (venue_id, status, amount, user_id);

-- No WHEN (OLD IS DISTINCT FROM NEW), as on books: a whole-row NEW is refused in a BEFORE
-- trigger's condition on a table with generated columns. The service's updates always change
-- the status, so none of them is a no-op anyway.
CREATE TRIGGER bookings_set_updated_at BEFORE UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE bookings ENABLE ROW LEVEL SECURITY;
CREATE POLICY bookings_owner_or_staff ON bookings
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()));

-- Anyone may see when a venue is taken, never by whom: this function runs as its owner, past
-- the policy, and returns only the periods of the venue's live bookings that overlap the
-- window, merged where they touch. It serves availability and the 409 that names the conflict,
-- through the exclusion constraint's index.
CREATE FUNCTION venue_booked_periods(venue uuid, time_window tstzrange)
RETURNS tstzmultirange
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
BEGIN ATOMIC
    SELECT coalesce(range_agg(b.during), '{}'::tstzmultirange)
    FROM bookings AS b
    WHERE b.venue_id = venue AND b.during && time_window AND b.status <> 'cancelled';
END;
