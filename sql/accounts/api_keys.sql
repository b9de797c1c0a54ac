-- API keys: issued, looked up by their public prefix (api_keys_prefix_key), revoked.

-- name: create_api_key(user_id, prefix, secret_hash, name)^
-- Stores a new key's prefix and the HMAC of its secret; the secret itself is never stored.
INSERT INTO api_keys (user_id, prefix, secret_hash, name)
VALUES (:user_id, :prefix, :secret_hash, :name)
RETURNING id, prefix, name, last_used_at, revoked_at, created_at;

-- name: find_api_key(prefix)^
-- The live key with this prefix and its live owner, for authentication, before any caller is
-- named: through the SECURITY DEFINER function api_key_by_prefix (migration 0007), which
-- looks it up by api_keys_prefix_key.
SELECT id, secret_hash, last_used_at, user_id, role, is_active
FROM api_key_by_prefix(:prefix);

-- name: touch_api_key(id, used_at)!
-- Records use of a key at used_at and a sign of life of its owner, acting as that owner;
-- neither moves back. Written by accounts/key_use.py in batches, on the primary, off the
-- request's path, at most about once a minute per key (see TOUCH_INTERVAL there).
WITH touched AS (
    UPDATE api_keys SET last_used_at = greatest(last_used_at, :used_at::timestamptz)
    WHERE id = :id
    RETURNING user_id
)
UPDATE users SET last_login_at = greatest(last_login_at, :used_at::timestamptz)
FROM touched
WHERE users.id = touched.user_id;

-- name: list_api_keys(caller_id, caller_role, user_id)
-- A user's keys, newest first, without their hashes, read for the caller in one statement.
-- read_api_keys (migration 0021): api_keys_user_id_idx; a user's few keys sorted here.
SELECT id, prefix, name, last_used_at, revoked_at, created_at
FROM read_api_keys(:caller_id, :caller_role, :user_id)
ORDER BY id DESC;

-- name: revoke_api_key(id, user_id)^
-- Revokes one of the user's keys (keeping the first revocation time); no row if not theirs, or
-- if it is their last live key, which would leave them no way in but the CLI (revoking a
-- revoked key again is allowed). Race-free as the admin rule in users.sql: revoking a live key
-- first locks the user's live keys FOR UPDATE in id order (api_keys_user_id_idx) up to one that
-- stays, so two revocations of a user's two keys take turns on the key with the lower id, and
-- the second, re-reading its locked rows at their latest version, finds the other key revoked
-- and is refused. The live CTE runs only when the key is live.
WITH live AS (
    SELECT id FROM api_keys WHERE user_id = :user_id AND revoked_at IS NULL ORDER BY id FOR UPDATE
)
UPDATE api_keys AS k
SET revoked_at = coalesce(k.revoked_at, now())
WHERE k.id = :id AND k.user_id = :user_id
  AND CASE WHEN k.revoked_at IS NULL THEN EXISTS (SELECT 1 FROM live WHERE live.id <> k.id) ELSE true END
RETURNING k.id, k.prefix, k.name, k.last_used_at, k.revoked_at, k.created_at;

-- name: get_api_key(id, user_id)^
-- One of the user's keys, to tell a refused revocation (409) from a key that is not theirs
-- (404); api_keys_pkey.
SELECT id, prefix, name, last_used_at, revoked_at, created_at
FROM api_keys
WHERE id = :id AND user_id = :user_id;
