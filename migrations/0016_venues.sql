-- Venues that customers book, found by distance: earthdistance's ll_to_earth puts each venue on
-- a cube in 3-D space, and a GiST index over that cube serves both "within r km" (earth_box @>)
-- and "nearest first" (ORDER BY cube <-> cube, a k-nearest-neighbour index scan). A public table.
-- depends: 0015_invoices
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE venues (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    address    text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 500),
    latitude   double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude  double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    -- A bounded quantity (1 to 1,000,000 people), not a key or a counter that grows: 32 bits suffice.
    -- squawk-ignore prefer-bigint-over-int
    capacity   integer NOT NULL CHECK (capacity BETWEEN 1 AND 1000000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Queries must spell the expression exactly so for the planner to match it:
-- ll_to_earth(latitude, longitude).
CREATE INDEX venues_location_idx ON venues USING gist (ll_to_earth(latitude, longitude));

CREATE TRIGGER venues_set_updated_at BEFORE UPDATE ON venues
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
