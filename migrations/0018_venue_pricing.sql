-- Venues set the price and the longest booking: a booking's amount is no longer the client's to
-- say (the service computes it in its INSERT from the venue's hourly price and the period, see
-- sql/bookings/bookings.sql), and no booking may hold a venue longer than the venue allows.
--
-- Bounds: at most 1,000,000.00 an hour and 8,784 hours (366 days), so that the dearest longest
-- booking (8,784,000,000.00) still fits bookings.amount's numeric(12, 2).
-- Existing venues keep taking bookings: they get 0.00 an hour (free until staff set a price;
-- the migration cannot know one) and 24 hours at most. The defaults stay for other writers
-- (psql, bulk loads); the API asks for the price whenever a venue is added.
-- depends: 0017_bookings
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- A constant default: PostgreSQL 11+ stores it in the catalog, no table rewrite. Each CHECK is
-- the new column's own: PostgreSQL checks the existing rows against it in one read of venues,
-- under the lock ADD COLUMN holds anyway (a venue a row: milliseconds at 100,000 venues), and
-- the only value they can hold is the default, which the CHECK allows.
ALTER TABLE venues ADD COLUMN hourly_price numeric(12, 2) NOT NULL DEFAULT 0
    CONSTRAINT venues_hourly_price_range CHECK (hourly_price BETWEEN 0 AND 1000000);
-- A bounded count of hours (1 to 8,784), not a key or a counter that grows: 32 bits suffice.
-- squawk-ignore prefer-bigint-over-int
ALTER TABLE venues ADD COLUMN max_booking_hours integer NOT NULL DEFAULT 24
    CONSTRAINT venues_max_booking_hours_range CHECK (max_booking_hours BETWEEN 1 AND 8784);

-- No booking longer than its venue's maximum, whoever writes it: checked when a booking is
-- written or moved (its period or venue changes), against the venue as it is then. Lowering a
-- venue's maximum later leaves the bookings already made as they are; a table CHECK cannot read
-- another table, hence a trigger. The service's INSERT refuses such a period itself first (and
-- names ends_at); this is the wall for every other writer. It raises check_violation with the
-- name below as its constraint, which the app answers as a 422.
CREATE FUNCTION bookings_check_max_length() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    longest integer;
BEGIN
    SELECT max_booking_hours INTO longest FROM venues WHERE id = NEW.venue_id;
    IF longest IS NOT NULL AND upper(NEW.during) - lower(NEW.during) > make_interval(hours => longest) THEN
        RAISE EXCEPTION 'a booking of venue % may last at most % hours', NEW.venue_id, longest
            USING ERRCODE = 'check_violation', CONSTRAINT = 'bookings_within_venue_max_length',
                  TABLE = 'bookings', COLUMN = 'during';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER bookings_within_venue_max_length BEFORE INSERT OR UPDATE OF during, venue_id ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_check_max_length();
