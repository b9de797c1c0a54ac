-- transactional: false
-- squawk-disable-assume-in-transaction
-- Back to emails compared by lower(email), and unbounded documents. Every statement may run
-- again, as in the migration. The index on lower(email) is built before the one on email_key
-- goes, so some uniqueness always holds.
-- A rollback drops what its migration made: that is its purpose, so squawk's ban-drop rules,
-- which keep forward migrations from breaking clients, do not apply to it.
-- squawk-ignore-file ban-drop-column, ban-drop-constraint, ban-drop-function
SET lock_timeout = '5s';
SET statement_timeout = '30min';

DROP INDEX CONCURRENTLY IF EXISTS users_live_admins_idx;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_live_key ON users (lower(email)) WHERE deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS users_email_key_live_key;
DROP TRIGGER IF EXISTS users_fill_email_key ON users;
DROP FUNCTION IF EXISTS users_fill_email_key();
-- Its check constraint goes with it.
ALTER TABLE users DROP COLUMN IF EXISTS email_key;
DROP FUNCTION IF EXISTS email_key_of(text);
ALTER TABLE user_settings DROP CONSTRAINT IF EXISTS user_settings_value_size;
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_preferences_size;
