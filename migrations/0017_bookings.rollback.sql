SET LOCAL lock_timeout = '5s';

DROP FUNCTION venue_booked_periods(uuid, tstzrange);
DROP TABLE bookings;
