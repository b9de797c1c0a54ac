-- Venues: written by staff, read by anyone, found by distance.

-- name: create_venue(name, address, latitude, longitude, capacity, hourly_price, max_booking_hours)^
-- A new venue; the CHECKs on venues refuse out-of-range coordinates, prices and maximum lengths.
INSERT INTO venues (name, address, latitude, longitude, capacity, hourly_price, max_booking_hours)
VALUES (:name, :address, :latitude, :longitude, :capacity, :hourly_price, :max_booking_hours)
RETURNING id, name, address, latitude, longitude, capacity, hourly_price, max_booking_hours, created_at, updated_at;

-- name: get_venue(id)^
-- One venue: venues_pkey.
SELECT id, name, address, latitude, longitude, capacity, hourly_price, max_booking_hours, created_at, updated_at
FROM venues
WHERE id = :id;

-- name: update_venue(id, name, address, latitude, longitude, capacity, hourly_price, max_booking_hours)^
-- Partial update: a NULL parameter keeps the column as it is. venues_pkey.
UPDATE venues
SET name      = coalesce(:name, name),
    address   = coalesce(:address, address),
    latitude  = coalesce(:latitude, latitude),
    longitude = coalesce(:longitude, longitude),
    capacity  = coalesce(:capacity, capacity),
    -- A new price or maximum applies to bookings made from now on; those made keep theirs.
    hourly_price      = coalesce(:hourly_price, hourly_price),
    max_booking_hours = coalesce(:max_booking_hours, max_booking_hours)
WHERE id = :id
RETURNING id, name, address, latitude, longitude, capacity, hourly_price, max_booking_hours, created_at, updated_at;

-- name: venue_exists(id)$
-- Whether a venue is there, for a 404 before its availability or bookings: venues_pkey.
SELECT EXISTS (SELECT 1 FROM venues WHERE id = :id);

-- name: nearby_venues(latitude, longitude, radius_m, limit)
-- Venues within radius_m metres of the point, nearest first, with their great-circle distance
-- in km. venues_location_idx serves both halves: earth_box(...) @> is the index condition that
-- bounds the search to a cube around the point, and ORDER BY ... <-> is a k-nearest-neighbour
-- index scan that stops after `limit` rows instead of sorting every venue in the radius. The
-- box is a little larger than the circle, so earth_distance rechecks the radius; the straight
-- line (<->) and the great circle between two points on the sphere rise together, so they
-- order alike. The limit is a subquery on purpose: the planner guesses that a cube box holds
-- 0.1% of the table, whatever its size, and when a known limit exceeds that guess (limit 50 in
-- central London, where the box holds 5,000 of 100,000) it reads the whole box and sorts it,
-- 50 ms instead of 1. A limit it cannot see makes it plan for a few rows, which is the KNN
-- scan; in the box it can never read past the box, so it is the better plan at every density.
SELECT v.id, v.name, v.address, v.latitude, v.longitude, v.capacity, v.hourly_price, v.max_booking_hours,
       v.created_at, v.updated_at,
       earth_distance(here.point, ll_to_earth(v.latitude, v.longitude)) / 1000 AS distance_km
FROM (SELECT ll_to_earth(:latitude, :longitude) AS point) AS here
JOIN venues AS v
  ON earth_box(here.point, :radius_m) @> ll_to_earth(v.latitude, v.longitude)
 AND earth_distance(here.point, ll_to_earth(v.latitude, v.longitude)) <= :radius_m
ORDER BY ll_to_earth(v.latitude, v.longitude) <-> here.point
LIMIT (SELECT :limit::int);
