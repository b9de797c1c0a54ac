-- Catalog: authors. A public table (no row-level security); writes are for staff.
-- depends: 0007_row_level_security
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE authors (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    bio        text NOT NULL DEFAULT '' CHECK (char_length(bio) <= 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Name search: ILIKE '%fragment%' and similarity (% and <->) for small typos.
CREATE INDEX authors_name_trgm_idx ON authors USING gin (name gin_trgm_ops);

CREATE TRIGGER authors_set_updated_at BEFORE UPDATE ON authors
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
