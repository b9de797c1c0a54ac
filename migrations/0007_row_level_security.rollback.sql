-- A rollback drops what its migration made: that is its purpose, so squawk's ban-drop rules,
-- which keep forward migrations from breaking clients, do not apply to it.
-- squawk-ignore-file ban-drop-function
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP FUNCTION api_key_by_prefix(text);

DROP POLICY api_keys_owner_or_staff ON api_keys;
ALTER TABLE api_keys DISABLE ROW LEVEL SECURITY;
DROP POLICY user_settings_owner_or_staff ON user_settings;
ALTER TABLE user_settings DISABLE ROW LEVEL SECURITY;
DROP POLICY user_profiles_owner_or_staff ON user_profiles;
ALTER TABLE user_profiles DISABLE ROW LEVEL SECURITY;

DROP FUNCTION app_is_staff();
DROP FUNCTION app_user_id();
