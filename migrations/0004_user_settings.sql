-- Accounts: per-user settings, one JSON value per key, written by upsert.
-- depends: 0002_users
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE user_settings (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    value      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The primary key leads with user_id, so it also indexes the foreign key.
    PRIMARY KEY (user_id, key)
);

CREATE TRIGGER user_settings_set_updated_at BEFORE UPDATE ON user_settings
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
