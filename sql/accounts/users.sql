-- Users: registration, lookup, partial update, soft delete and restore, the admin listing and
-- the bulk deactivation. Every query but list_users and the deactivation is served by users_pkey.
--
-- Emails are compared by email_key, which the service computes (NFKC, case folding, the Turkish
-- i's as i: src/bookshop/accounts/emails.py) and passes with every write of an email, so
-- look-alike addresses name one account; users_email_key_live_key keeps it unique among live
-- users (migration 0019 says why the key is not computed here).
--
-- The last live, active admin cannot be deleted, deactivated or demoted. Whatever would take
-- an admin away (update_user, soft_delete_user, deactivate_inactive_users) first locks the live,
-- active admins FOR UPDATE in id order (users_live_admins_idx), up to the first one that stays,
-- and goes ahead only when one does. That is race-free under READ COMMITTED: two such changes
-- both lock the admin with the lowest id first, so the second waits for the first to commit;
-- a row locked after waiting is re-read at its latest version (PostgreSQL rechecks the lock's
-- WHERE on it), so an admin the first change took away no longer counts for the second, which
-- then finds no other admin and is refused. The rule itself sits in the UPDATE's WHERE, which
-- is also rechecked on the target's latest version. Locks are always taken in id order, so two
-- such changes cannot deadlock; an ordinary change (a name, a customer's role) locks nothing more.

-- name: create_user(email, email_key, name, role, preferences)^
-- Registers a user; users_email_key_live_key rejects an email a live user already has, in any
-- case or look-alike form.
INSERT INTO users (email, email_key, name, role, preferences)
VALUES (:email, :email_key, :name, :role, :preferences)
RETURNING id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at;

-- name: get_user(id)^
-- One live user by id.
SELECT id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at
FROM users
WHERE id = :id AND deleted_at IS NULL;

-- name: get_user_by_email(email_key)^
-- The live user with this email, in any case or look-alike form, by the key the service
-- computes from it; served by users_email_key_live_key.
SELECT id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at
FROM users
WHERE email_key = :email_key AND deleted_at IS NULL;

-- name: update_user(id, email, email_key, name, preferences, role, is_active)^
-- Partial update of a live user: a NULL parameter keeps the column as it is. No row when the
-- user is not live, or when the change would deactivate or demote the last live, active admin
-- (see the top of this file; the admins CTE runs only for such a change).
WITH admins AS (
    SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE
)
UPDATE users AS u
SET email       = coalesce(:email, u.email),
    email_key   = coalesce(:email_key, u.email_key),
    name        = coalesce(:name, u.name),
    preferences = coalesce(:preferences::jsonb, u.preferences),
    role        = coalesce(:role::text, u.role),
    is_active   = coalesce(:is_active::boolean, u.is_active)
WHERE u.id = :id AND u.deleted_at IS NULL
  AND CASE WHEN u.role = 'admin' AND u.is_active
                AND (coalesce(:role::text, 'admin') <> 'admin' OR NOT coalesce(:is_active::boolean, true))
           THEN EXISTS (SELECT 1 FROM admins WHERE admins.id <> u.id)
           ELSE true
      END
RETURNING u.id, u.email, u.name, u.role, u.is_active, u.preferences, u.last_login_at, u.created_at, u.updated_at;

-- name: soft_delete_user(id)^
-- Marks a live user deleted; the row stays for restore and for the history that refers to it.
-- No row when the user is not live, or is the last live, active admin (see the top of this file).
WITH admins AS (
    SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE
)
UPDATE users AS u
SET deleted_at = now()
WHERE u.id = :id AND u.deleted_at IS NULL
  AND CASE WHEN u.role = 'admin' AND u.is_active
           THEN EXISTS (SELECT 1 FROM admins WHERE admins.id <> u.id)
           ELSE true
      END
RETURNING u.id;

-- name: restore_user(id)^
-- Brings a user back (a no-op for a live one); users_email_key_live_key fails it when another
-- live user took the email (or a look-alike of it) meanwhile.
UPDATE users
SET deleted_at = NULL
WHERE id = :id
RETURNING id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at;

-- name: list_users(is_active, q, prefers, limit, offset, exact_limit)
-- One page of live users, newest first (UUIDv7 ids sort by creation), and the total that match:
-- exact up to :exact_limit, a labelled estimate above it (count_live_users, migration 0022).
-- users_pkey walks the page, users_search_trgm_idx serves q, users_preferences_idx serves prefers.
-- Always one row at least: past the last page the user columns are NULL and total still counts.
-- plan: seq-scan ok on users, a generic plan cannot tell which optional filter is set; the custom
-- plans of the first executions use the trigram and GIN indexes.
SELECT page.*, counted.total, counted.total_exact
FROM count_live_users(:is_active::boolean, :q::text, :prefers::jsonb, :exact_limit::bigint) AS counted
LEFT JOIN LATERAL (
    SELECT id, email, name, role, is_active, preferences, last_login_at, created_at, updated_at
    FROM users
    WHERE deleted_at IS NULL
      AND (:is_active::boolean IS NULL OR is_active = :is_active::boolean)
      AND (:q::text IS NULL OR (name || ' ' || email) ILIKE like_contains(:q::text))
      AND (:prefers::jsonb IS NULL OR preferences @> :prefers::jsonb)
    ORDER BY id DESC
    LIMIT :limit OFFSET :offset
) AS page ON true
ORDER BY page.id DESC;

-- name: deactivate_inactive_users(days)$
-- Deactivates, in one statement, live active users not seen for :days days (never signed in:
-- counted from registration), and returns how many; users_last_seen_idx serves the range.
-- make_interval binds :days as a number, where an 'interval :days days' literal would not bind.
-- Stale admins are deactivated only while an admin who is not stale stays active, under the
-- admins' locks as at the top of this file (the caller, an admin just signed in, is one; the
-- rule holds when another admin demotes that caller at the same moment).
WITH admins AS (
    SELECT id, coalesce(last_login_at, created_at) < now() - make_interval(days => :days) AS stale
    FROM users
    WHERE role = 'admin' AND is_active AND deleted_at IS NULL
    ORDER BY id
    FOR UPDATE
), deactivated AS (
    UPDATE users AS u
    SET is_active = false
    WHERE u.is_active
      AND u.deleted_at IS NULL
      AND coalesce(u.last_login_at, u.created_at) < now() - make_interval(days => :days)
      AND CASE WHEN u.role = 'admin' THEN EXISTS (SELECT 1 FROM admins WHERE NOT admins.stale) ELSE true END
    RETURNING 1
)
SELECT count(*) FROM deactivated;

-- name: lock_demo_seed()$
-- The first statement of the demo seed's transaction (demo.py seed_if_empty): seeds take turns on
-- this advisory lock, held to the end of the transaction, so the second one waits, then sees the
-- first one's users with has_users and seeds nothing.
SELECT pg_advisory_xact_lock(hashtext('bookshop demo seed'));

-- name: has_users()$
-- Whether any user exists, live or deleted: the demo data is seeded only into an empty database.
-- plan: seq-scan ok on users, EXISTS stops at the first row the scan meets.
SELECT EXISTS (SELECT 1 FROM users);

-- name: first_customer_ids(limit)$
-- The ids of the first :limit customers by id, for the data generators (`bookshop seed`) to
-- hand out bookings and orders: users_pkey.
SELECT coalesce(array_agg(id), '{}') FROM (SELECT id FROM users WHERE role = 'customer' ORDER BY id LIMIT :limit) AS c;
