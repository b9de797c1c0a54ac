-- Least privilege: the application role (bookshop_app, made by `bookshop db bootstrap`) may
-- read and write the service's tables and call the functions it uses, and nothing more; no
-- other role may use or create anything in the schema. Run as the owner, which owns it all.
-- depends: 0005_api_keys
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO bookshop_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON users, user_profiles, user_settings, api_keys TO bookshop_app;

-- What later migrations create (as this owner) is granted as it comes; yoyo's own tables,
-- made before any migration ran, stay out of reach.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bookshop_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO bookshop_app;

-- PostgreSQL lets PUBLIC execute every new function; here only the application role may.
-- Trigger functions need no grant: they run whoever fires them.
REVOKE EXECUTE ON FUNCTION uuid_v7(), like_contains(text), set_updated_at() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION uuid_v7(), like_contains(text) TO bookshop_app;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO bookshop_app;
