-- Bookings: made by customers, moved through their states by their owner or staff, counted
-- for revenue. Periods are [starts_at, ends_at) tstzranges; timestamps come back in UTC.

-- name: create_booking(venue_id, user_id, starts_at, ends_at, horizon_days)^
-- Books the venue for [starts_at, ends_at) at the venue's price, in one statement (venues_pkey).
-- The client says when, never how much: the amount is the venue's hourly_price times the
-- period's length in hours, part hours pro rata to the microsecond, rounded half up to the cent
-- (90 minutes at 100.00 is 150.00; 20 minutes at 10.00 is 3.33). The row says what happened:
-- no row when there is no such venue; booking_id and amount when booked; booking_id null when
-- refused, with too_long (longer than the venue's max_booking_hours) or beyond_horizon (it
-- starts more than horizon_days after now()). Both rules decide here, in the database, rather
-- than in a check before the write. The horizon is relative to now and a setting of the service
-- (BOOKING_HORIZON_DAYS), so it is a parameter of this WHERE, not a constraint: a row within the
-- horizon when written stays valid as time passes. The maximum length is the venue's, read in
-- the same statement; bookings_within_venue_max_length (0018) is the trigger that holds it for
-- every other writer, and judging it here first names the field and never computes the amount
-- of an absurd period (the bounds of 0018 keep any allowed one within numeric(12, 2)).
-- An overlap with a live booking of the venue fails on bookings_no_double_booking (23P01),
-- checked against every committed and in-flight booking, whoever made it.
-- The venue's row is locked first (FOR NO KEY UPDATE, until the transaction ends), so bookings
-- of one venue queue and each checks the constraint against committed rows. Without it, two
-- overlapping inserts in flight can each wait for the other's transaction: a deadlock the server
-- breaks after deadlock_timeout, and with 20 at once waits past lock_timeout (503s, 1 run in 19).
WITH judged AS (
    SELECT v.id AS venue_id, v.hourly_price, v.max_booking_hours, asked.during,
           upper(asked.during) - lower(asked.during) > make_interval(hours => v.max_booking_hours) AS too_long,
           lower(asked.during) > now() + make_interval(days => :horizon_days) AS beyond_horizon
    FROM venues AS v
    CROSS JOIN (SELECT tstzrange(:starts_at, :ends_at, '[)') AS during) AS asked
    WHERE v.id = :venue_id
    FOR NO KEY UPDATE OF v
),
made AS (
    INSERT INTO bookings (venue_id, user_id, during, amount)
    SELECT venue_id, :user_id, during,
           round(hourly_price * (extract(epoch FROM upper(during)) - extract(epoch FROM lower(during))) / 3600, 2)
    FROM judged
    WHERE NOT too_long AND NOT beyond_horizon
    RETURNING id, amount
)
SELECT (SELECT id FROM made) AS booking_id, (SELECT amount FROM made) AS amount,
       too_long, beyond_horizon, max_booking_hours
FROM judged;

-- name: get_booking(caller_id, caller_role, id, user_id)^
-- A booking with its venue, read for the caller in one statement. Only the customer's own
-- (user_id), or any with user_id null (staff); row-level security is the second wall.
-- read_booking (migration 0021): bookings_pkey, then venues_pkey.
SELECT id, user_id, starts_at, ends_at, amount, status, created_at, updated_at, venue
FROM read_booking(:caller_id, :caller_role, :id, :user_id);

-- name: list_user_bookings(caller_id, caller_role, user_id, after_starts_at, after_id, limit)
-- A customer's bookings with their venues, latest start first, by keyset on (start, id), read
-- for the caller in one statement. read_bookings (migration 0021): bookings_user_starts_idx,
-- then venues_pkey per row of the page; the page's rows sorted again here.
SELECT id, user_id, starts_at, ends_at, amount, status, created_at, updated_at, venue
FROM read_bookings(:caller_id, :caller_role, :user_id, :after_starts_at, :after_id, :limit)
ORDER BY starts_at DESC, id DESC;

-- name: list_venue_bookings(venue_id, starts, ends, after_starts_at, after_id, limit)
-- A venue's bookings of every status that overlap [starts, ends), earliest first, by keyset on
-- (start, id), for staff: bookings_venue_during_idx.
SELECT b.id, b.user_id, b.starts_at, upper(b.during) AS ends_at, b.amount, b.status,
       b.created_at, b.updated_at
FROM bookings AS b
WHERE b.venue_id = :venue_id
  AND b.during && tstzrange(:starts, :ends, '[)')
  AND (b.starts_at, b.id) > (coalesce(:after_starts_at::timestamptz, '-infinity'),
                                 coalesce(:after_id::uuid, '00000000-0000-0000-0000-000000000000'))
ORDER BY b.starts_at, b.id
LIMIT :limit;

-- name: set_booking_status(id, user_id, from_statuses, to_status)^
-- Moves a booking (the customer's own, or any with user_id null) to a new status only from the
-- given ones, so concurrent changes cannot both apply; no row when it is in none of them (or
-- not there). bookings_pkey.
UPDATE bookings
SET status = :to_status
WHERE id = :id AND (:user_id::uuid IS NULL OR user_id = :user_id::uuid) AND status = any(:from_statuses::text[])
RETURNING id, venue_id, status, upper(during) AS ends_at;

-- name: complete_ended_booking(id)^
-- Completes a confirmed booking whose period has ended (the complete_booking job, due when it
-- ends); no row when it was cancelled or completed meanwhile, or has not ended. bookings_pkey.
UPDATE bookings
SET status = 'completed'
WHERE id = :id AND status = 'confirmed' AND upper(during) <= now()
RETURNING id, venue_id, upper(during) AS ends_at;

-- name: get_booking_status(id, user_id)$
-- A booking's status (the customer's own, or any with user_id null), to explain a refused
-- change: bookings_pkey.
SELECT status FROM bookings WHERE id = :id AND (:user_id::uuid IS NULL OR user_id = :user_id::uuid);

-- name: booked_periods(venue_id, starts, ends)
-- When the venue is taken within [starts, ends), touching bookings merged, whoever holds them:
-- venue_booked_periods() (SECURITY DEFINER, see 0017) over bookings_no_double_booking's index.
SELECT lower(period) AS starts_at, upper(period) AS ends_at
FROM unnest(venue_booked_periods(:venue_id, tstzrange(:starts, :ends, '[)'))) AS period;

-- name: free_periods(venue_id, starts, ends)
-- When the venue is free within [starts, ends): the window minus its booked periods, as
-- multirange arithmetic; unnest gives the pieces in time order.
SELECT lower(period) AS starts_at, upper(period) AS ends_at
FROM unnest(
    tstzmultirange(tstzrange(:starts, :ends, '[)')) - venue_booked_periods(:venue_id, tstzrange(:starts, :ends, '[)'))
) AS period;

-- name: booking_stats_by_day(starts, ends)
-- Bookings that start in [starts, ends), by their UTC start day: counts by status and the
-- revenue of the completed ones, then one row of totals (day null, from GROUPING SETS' ()).
-- An index-only range scan of bookings_starts_idx, whose INCLUDE columns hold all it reads.
SELECT (starts_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS bookings,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       coalesce(sum(amount) FILTER (WHERE status = 'completed'), 0)::numeric(14, 2) AS revenue
FROM bookings
WHERE starts_at >= :starts AND starts_at < :ends
GROUP BY GROUPING SETS (((starts_at AT TIME ZONE 'UTC')::date), ())
ORDER BY day NULLS FIRST;

-- name: booking_stats_by_venue(starts, ends)
-- The same counts and revenue by venue, highest revenue first, after one row of totals (venue
-- null): bookings_starts_idx as above, then venues_pkey for each venue's name (a lookup per
-- group, where a join would hash every venue).
WITH counted AS (
    SELECT venue_id,
           count(*) AS bookings,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
           coalesce(sum(amount) FILTER (WHERE status = 'completed'), 0)::numeric(14, 2) AS revenue
    FROM bookings
    WHERE starts_at >= :starts AND starts_at < :ends
    GROUP BY GROUPING SETS ((venue_id), ())
)
SELECT c.venue_id, (SELECT v.name FROM venues AS v WHERE v.id = c.venue_id) AS venue_name,
       c.bookings, c.pending, c.confirmed, c.completed, c.cancelled, c.revenue
FROM counted AS c
ORDER BY c.venue_id IS NOT NULL, c.revenue DESC, c.venue_id;
