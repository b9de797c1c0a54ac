-- Row-level security on the private tables. A transaction acts for the caller the service
-- names at its start (set_config('app.user_id', …, true) and set_config('app.role', …, true),
-- both transaction-local); a customer then sees and changes only their own rows, staff and
-- admins all rows, and a transaction that names no one sees nothing. The owner role, which
-- runs migrations and fixtures, is not subject to it. Every later private table follows the
-- same rule: docs/security.md.
-- depends: 0006_application_role
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- The caller, read once per statement: policies call these inside a scalar subquery, which
-- PostgreSQL evaluates once as an InitPlan instead of once per row.
CREATE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(current_setting('app.user_id', true), '')::uuid;

CREATE FUNCTION app_is_staff() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(current_setting('app.role', true) IN ('staff', 'admin'), false);

ALTER TABLE user_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_profiles_owner_or_staff ON user_profiles
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()));

ALTER TABLE user_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_settings_owner_or_staff ON user_settings
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_owner_or_staff ON api_keys
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()));

-- Authentication must find a key before anyone is named: this function runs as its owner,
-- past the policy, and returns only the live key with this exact prefix and its live owner.
CREATE FUNCTION api_key_by_prefix(key_prefix text)
RETURNS TABLE (id uuid, secret_hash bytea, last_used_at timestamptz, user_id uuid, role text, is_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
BEGIN ATOMIC
    SELECT k.id, k.secret_hash, k.last_used_at, u.id, u.role, u.is_active
    FROM api_keys AS k
    JOIN users AS u ON u.id = k.user_id
    WHERE k.prefix = key_prefix AND k.revoked_at IS NULL AND u.deleted_at IS NULL;
END;
