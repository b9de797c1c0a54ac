-- Accounts: one optional profile per user.
-- depends: 0002_users
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE user_profiles (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bio        text NOT NULL DEFAULT '' CHECK (char_length(bio) <= 500),
    location   text CHECK (char_length(location) <= 200),
    website    text CHECK (char_length(website) <= 500 AND website ~ '^https?://'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER user_profiles_set_updated_at BEFORE UPDATE ON user_profiles
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
