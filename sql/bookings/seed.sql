-- Venues and bookings: the realistic data set behind `bookshop seed --venues N`, generated in
-- SQL and loaded as the owner, like the catalog's (sql/catalog/seed.sql). Venues cluster
-- around 30 cities as they do in life: a few big cities hold most of them, and each city's
-- venues thin out from its centre (a normal spread of 8 km), so a 5 km search in a city centre
-- finds thousands of candidates and one in the countryside finds none.

-- name: seed_cities()
-- The cities and their centres (latitude, longitude in degrees), biggest first.
SELECT name, latitude::float8, longitude::float8
FROM (VALUES
    (1, 'London', 51.5074, -0.1278), (2, 'New York', 40.7128, -74.0060), (3, 'Tokyo', 35.6762, 139.6503),
    (4, 'Paris', 48.8566, 2.3522), (5, 'Berlin', 52.5200, 13.4050), (6, 'São Paulo', -23.5505, -46.6333),
    (7, 'Mumbai', 19.0760, 72.8777), (8, 'Mexico City', 19.4326, -99.1332), (9, 'Madrid', 40.4168, -3.7038),
    (10, 'Seoul', 37.5665, 126.9780), (11, 'Chicago', 41.8781, -87.6298), (12, 'Istanbul', 41.0082, 28.9784),
    (13, 'Lagos', 6.5244, 3.3792), (14, 'Shanghai', 31.2304, 121.4737), (15, 'Rome', 41.9028, 12.4964),
    (16, 'Toronto', 43.6532, -79.3832), (17, 'Buenos Aires', -34.6037, -58.3816), (18, 'Cairo', 30.0444, 31.2357),
    (19, 'Delhi', 28.7041, 77.1025), (20, 'Bangkok', 13.7563, 100.5018), (21, 'Sydney', -33.8688, 151.2093),
    (22, 'Amsterdam', 52.3676, 4.9041), (23, 'Jakarta', -6.2088, 106.8456), (24, 'Vienna', 48.2082, 16.3738),
    (25, 'Nairobi', -1.2921, 36.8219), (26, 'Warsaw', 52.2297, 21.0122), (27, 'Singapore', 1.3521, 103.8198),
    (28, 'Stockholm', 59.3293, 18.0686), (29, 'Lisbon', 38.7223, -9.1393), (30, 'Melbourne', -37.8136, 144.9631)
) AS cities (rank, name, latitude, longitude)
ORDER BY rank;

-- name: seed_venues(first, count, city_names, latitudes, longitudes)$
-- Venues number :first to :first + :count - 1. City k of the n given (biggest first) is drawn
-- with probability about 1/k (k = floor((n + 1) ^ random())); the offset from its centre is
-- normal in both directions (Box-Muller) with a spread of 8 km. Prices vary: 10.00 to about
-- 300.00 an hour, bigger venues dearer, most ending in .00 or .50; the longest booking is 4, 8,
-- 12, 24, 48 or 72 hours. Returns their ids.
WITH placed AS (
    SELECT n,
           city,
           (:city_names::text[])[city] AS city_name,
           (:latitudes::float8[])[city] + north_km / 111.32 AS latitude,
           (:longitudes::float8[])[city] + east_km / (111.32 * cos(radians((:latitudes::float8[])[city]))) AS longitude
    FROM (
        SELECT n,
               least(cardinality(:city_names::text[]),
                     floor(power(cardinality(:city_names::text[]) + 1, random()))::int) AS city,
               8 * sqrt(-2 * ln(1 - random())) AS spread_km,
               2 * pi() * random() AS bearing
        FROM generate_series(:first::bigint, :first::bigint + :count::int - 1) AS n
    ) AS drawn
    CROSS JOIN LATERAL (SELECT spread_km * cos(bearing) AS north_km, spread_km * sin(bearing) AS east_km) AS offset_km
),
created AS (
    INSERT INTO venues (name, address, latitude, longitude, capacity, hourly_price, max_booking_hours)
    SELECT city_name || ' '
           || (ARRAY['Hall', 'Studio', 'Loft', 'Gallery', 'Rooftop', 'Theatre', 'Court', 'Garden', 'Room',
                     'Pavilion'])[1 + floor(random() * 10)::int]
           || ' ' || n,
           (1 + floor(random() * 300))::int || ' '
           || (ARRAY['High', 'Station', 'Market', 'Park', 'River', 'Church', 'Mill', 'Bridge', 'King', 'Queen'])
                  [1 + floor(random() * 10)::int]
           || ' Street, ' || city_name,
           greatest(-90, least(90, latitude)),
           greatest(-180, least(180, longitude)),
           capacity,
           round((10 + capacity * (0.1 + random() * 0.2)) * 2) / 2,
           (ARRAY[4, 8, 12, 24, 48, 72])[1 + floor(random() * 6)::int]
    FROM placed
    CROSS JOIN LATERAL (SELECT 10 + floor(random() ^ 2 * 990)::int AS capacity) AS sized
    RETURNING id
)
SELECT coalesce(array_agg(id), '{}') FROM created;

-- name: seed_bookings(venue_ids, per_venue, user_ids)$
-- :per_venue bookings for each venue, one a day from per_venue / 2 days ago onwards, between
-- 08:00 and 21:00 UTC, 1 to 4 hours long (within any generated venue's maximum), so none
-- overlap; each costs what the service would charge, the venue's hourly price times its hours
-- (venues_pkey per venue); customers drawn from :user_ids. Past bookings are
-- mostly completed, future ones pending or confirmed; about one in ten is cancelled. Returns
-- how many it wrote.
WITH drafts AS (
    SELECT v.id AS venue_id,
           v.hourly_price,
           date_trunc('day', now(), 'UTC') + (day - :per_venue::int / 2) * interval '1 day'
           + (8 + floor(random() * 10)) * interval '1 hour' AS starts_at,
           (1 + floor(random() * 4)) * interval '1 hour' AS length,
           random() AS r
    FROM unnest(:venue_ids::uuid[]) AS venue_id
    JOIN venues AS v ON v.id = venue_id
    CROSS JOIN generate_series(0, :per_venue::int - 1) AS day
),
created AS (
    INSERT INTO bookings (venue_id, user_id, during, amount, status)
    SELECT venue_id,
           (:user_ids::uuid[])[1 + floor(random() ^ 2 * cardinality(:user_ids::uuid[]))::int],
           tstzrange(starts_at, starts_at + length, '[)'),
           hourly_price * extract(hour FROM length),
           CASE WHEN r < 0.1 THEN 'cancelled'
                WHEN starts_at + length < now() THEN CASE WHEN r < 0.95 THEN 'completed' ELSE 'confirmed' END
                WHEN r < 0.6 THEN 'confirmed'
                ELSE 'pending'
           END
    FROM drafts
    WHERE cardinality(:user_ids::uuid[]) > 0
    RETURNING 1
)
SELECT count(*) FROM created;

-- name: seed_venue_numbering()$
-- The highest number a generated venue's name ends in, so a run adds after it (a full scan:
-- owner work, once a run).
-- plan: seq-scan ok on venues, the seed generator's bookkeeping: no index serves a number at the
-- end of a name, and one pass per run costs less than an index every write would maintain.
SELECT coalesce(max(substring(name FROM ' (\d+)$')::bigint), 0) FROM venues;

-- name: seed_analyze_bookings()!
-- Fresh planner statistics for the tables the generator wrote.
ANALYZE venues, bookings;
