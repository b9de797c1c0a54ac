-- Accounts: API keys. A key reads bk_<prefix>_<secret>; only an HMAC-SHA256 of the secret is
-- stored, found through its public prefix.
-- depends: 0002_users
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT uuid_v7(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prefix       text NOT NULL UNIQUE CHECK (prefix ~ '^[0-9a-f]{12}$'),
    secret_hash  bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    name         text NOT NULL DEFAULT '' CHECK (char_length(name) <= 100),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

CREATE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON api_keys
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
