-- User profiles: one optional row per user, keyed by user_id (user_profiles_pkey).

-- name: get_profile(caller_id, caller_role, user_id)^
-- The profile of a live user, read for the caller in one statement. read_profile (migration
-- 0021): user_profiles_pkey, then users_pkey.
SELECT user_id, bio, location, website, created_at, updated_at
FROM read_profile(:caller_id, :caller_role, :user_id);

-- name: put_profile(user_id, bio, location, website)^
-- Creates or replaces the profile of a live user in one statement; no row when the user does
-- not exist or is deleted. created tells an insert (xmax = 0) from an update.
INSERT INTO user_profiles AS p (user_id, bio, location, website)
SELECT u.id, :bio::text, :location::text, :website::text
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
ON CONFLICT (user_id) DO UPDATE
SET bio = excluded.bio, location = excluded.location, website = excluded.website
RETURNING p.user_id, p.bio, p.location, p.website, p.created_at, p.updated_at, (p.xmax = 0) AS created;

-- name: delete_profile(user_id)^
-- Removes the profile; no row when there was none.
DELETE FROM user_profiles
WHERE user_id = :user_id
RETURNING user_id;
