-- User settings: key → JSON value per user, keyed by (user_id, key) (user_settings_pkey).

-- name: get_settings(caller_id, caller_role, user_id)^
-- All settings of a live user as one JSON object, read for the caller in one statement; no
-- row when the user does not exist. read_settings (migration 0021): users_pkey, then
-- user_settings_pkey.
SELECT settings FROM read_settings(:caller_id, :caller_role, :user_id) AS settings;

-- name: put_setting(user_id, key, value)^
-- Sets one key for a live user in a single atomic upsert: concurrent writers of the same key
-- never fail, the last one wins. created tells an insert (xmax = 0) from an update.
INSERT INTO user_settings AS s (user_id, key, value)
SELECT u.id, :key::text, :value::jsonb
FROM users AS u
WHERE u.id = :user_id AND u.deleted_at IS NULL
ON CONFLICT (user_id, key) DO UPDATE
SET value = excluded.value
RETURNING s.key, s.value, s.created_at, s.updated_at, (s.xmax = 0) AS created;

-- name: delete_setting(user_id, key)^
-- Removes one key; no row when it was not set.
DELETE FROM user_settings
WHERE user_id = :user_id AND key = :key
RETURNING key;
