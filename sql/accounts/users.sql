-- Users: registration, lookup, partial update, soft delete and restore, the admin listing and
-- the bulk deactivation. Every query but list_users and the deactivation is served by users_pkey.

-- name: create_user(email, name, role, preferences)^
-- Registers a user; users_email_live_key rejects an email a live user already has (any case).
INSERT INTO users (email, name, role, preferences)
VALUES (:email, :name, :role, :preferences)
RETURNING id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at;

-- name: get_user(id)^
-- One live user by id.
SELECT id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at
FROM users
WHERE id = :id AND deleted_at IS NULL;

-- name: get_user_by_email(email)^
-- The live user with this email, in any case; served by users_email_live_key.
SELECT id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at
FROM users
WHERE lower(email) = lower(:email) AND deleted_at IS NULL;

-- name: update_user(id, email, name, preferences, role, is_active)^
-- Partial update of a live user: a NULL parameter keeps the column as it is.
UPDATE users
SET email       = coalesce(:email, email),
    name        = coalesce(:name, name),
    preferences = coalesce(:preferences::jsonb, preferences),
    role        = coalesce(:role, role),
    is_active   = coalesce(:is_active::boolean, is_active)
WHERE id = :id AND deleted_at IS NULL
RETURNING id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at;

-- name: soft_delete_user(id)^
-- Marks a live user deleted; the row stays for restore and for the history that refers to it.
UPDATE users
SET deleted_at = now()
WHERE id = :id AND deleted_at IS NULL
RETURNING id;

-- name: restore_user(id)^
-- Brings a user back (a no-op for a live one); users_email_live_key fails it when another live
-- user took the email meanwhile.
UPDATE users
SET deleted_at = NULL
WHERE id = :id
RETURNING id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at;

-- name: list_users(is_active, q, prefers, limit, offset)
-- One page of live users, newest first (UUIDv7 ids sort by creation), and the total that match.
-- The CTE is inlined into both uses, so the count and the page are each planned on their own:
-- users_pkey walks the page, users_search_trgm_idx serves q, users_preferences_idx serves prefers.
-- Always one row at least: past the last page the user columns are NULL and total still counts.
-- plan: seq-scan ok on users, the total counts every live user that matches, so with no filter it
-- reads them all (offset pages with a total, for staff); a generic plan cannot tell which optional
-- filter is set, and the custom plans of the first executions use the trigram and GIN indexes.
WITH matching AS NOT MATERIALIZED (
    SELECT id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at
    FROM users
    WHERE deleted_at IS NULL
      AND (:is_active::boolean IS NULL OR is_active = :is_active::boolean)
      AND (:q::text IS NULL OR (name || ' ' || email) ILIKE like_contains(:q::text))
      AND (:prefers::jsonb IS NULL OR preferences @> :prefers::jsonb)
)
SELECT page.*, counted.total
FROM (SELECT count(*) AS total FROM matching) AS counted
LEFT JOIN LATERAL (
    SELECT * FROM matching ORDER BY id DESC LIMIT :limit OFFSET :offset
) AS page ON true
ORDER BY page.id DESC;

-- name: deactivate_inactive_users(days)$
-- Deactivates, in one statement, live active users not seen for :days days (never signed in:
-- counted from registration), and returns how many; users_last_seen_idx serves the range.
-- make_interval binds :days as a number, where an 'interval :days days' literal would not bind.
WITH deactivated AS (
    UPDATE users
    SET is_active = false
    WHERE is_active
      AND deleted_at IS NULL
      AND coalesce(last_login_at, created_at) < now() - make_interval(days => :days)
    RETURNING 1
)
SELECT count(*) FROM deactivated;

-- name: has_users()$
-- Whether any user exists, live or deleted: the demo data is seeded only into an empty database.
-- plan: seq-scan ok on users, EXISTS stops at the first row the scan meets.
SELECT EXISTS (SELECT 1 FROM users);

-- name: first_customer_ids(limit)$
-- The ids of the first :limit customers by id, for the data generators (`bookshop seed`) to
-- hand out bookings and orders: users_pkey.
SELECT coalesce(array_agg(id), '{}') FROM (SELECT id FROM users WHERE role = 'customer' ORDER BY id LIMIT :limit) AS c;
