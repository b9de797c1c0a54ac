-- A rollback drops what its migration made: that is its purpose, so squawk's ban-drop rules,
-- which keep forward migrations from breaking clients, do not apply to it.
-- squawk-ignore-file ban-drop-column, ban-drop-function
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP TRIGGER bookings_within_venue_max_length ON bookings;
DROP FUNCTION bookings_check_max_length();
ALTER TABLE venues DROP COLUMN max_booking_hours;
ALTER TABLE venues DROP COLUMN hourly_price;
