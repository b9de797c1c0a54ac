-- Accounts: users, soft-deleted with deleted_at; an email is unique among live users only.
-- depends: 0001_extensions_and_functions
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT uuid_v7(),
    email         text NOT NULL CHECK (char_length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$'),
    name          text NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    role          text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff', 'admin')),
    is_active     boolean NOT NULL DEFAULT true,
    preferences   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    last_login_at timestamptz,
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Case-insensitive uniqueness among live users: a soft-deleted account does not block
-- re-registration, and restoring it fails cleanly if the email was taken meanwhile.
CREATE UNIQUE INDEX users_email_live_key ON users (lower(email)) WHERE deleted_at IS NULL;

-- preferences @> '{"newsletter": true}'; jsonb_path_ops is smaller and faster for containment.
CREATE INDEX users_preferences_idx ON users USING gin (preferences jsonb_path_ops);

-- ILIKE '%fragment%' over name and email for the admin user search.
CREATE INDEX users_search_trgm_idx ON users USING gin ((name || ' ' || email) gin_trgm_ops);

-- The bulk deactivation scans only live, active users by their last sign of life.
CREATE INDEX users_last_seen_idx ON users ((coalesce(last_login_at, created_at)))
    WHERE is_active AND deleted_at IS NULL;

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
