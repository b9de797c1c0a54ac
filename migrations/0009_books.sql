-- Catalog: books, soft-deleted with deleted_at, searchable through a generated tsvector.
-- depends: 0008_authors
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE books (
    id           uuid PRIMARY KEY DEFAULT uuid_v7(),
    slug         text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 200),
    isbn         text CHECK (isbn ~ '^97[89][0-9]{10}$'),
    title        text NOT NULL CHECK (btrim(title) <> '' AND char_length(title) <= 500),
    subtitle     text NOT NULL DEFAULT '' CHECK (char_length(subtitle) <= 500),
    description  text NOT NULL DEFAULT '' CHECK (char_length(description) <= 20000),
    author_id    uuid NOT NULL REFERENCES authors (id),
    price        numeric(12, 2) NOT NULL CHECK (price >= 0),
    -- A bounded quantity (copies in stock), not a key or a counter that grows: 32 bits suffice.
    -- squawk-ignore prefer-bigint-over-int
    stock        integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    is_published boolean NOT NULL DEFAULT false,
    published_at timestamptz,
    metadata     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    -- Title hits rank above subtitle hits, and those above description hits.
    search       tsvector GENERATED ALWAYS AS (
                     setweight(to_tsvector('english', title), 'A')
                     || setweight(to_tsvector('english', subtitle), 'B')
                     || setweight(to_tsvector('english', description), 'C')
                 ) STORED,
    deleted_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT books_published_has_date CHECK (NOT is_published OR published_at IS NOT NULL)
);

-- A slug names one live book; a deleted book's slug can be used again.
CREATE UNIQUE INDEX books_slug_live_key ON books (slug) WHERE deleted_at IS NULL;
-- One book per ISBN (NULLs are distinct): the key bulk imports upsert on.
CREATE UNIQUE INDEX books_isbn_key ON books (isbn);

CREATE INDEX books_search_idx ON books USING gin (search);
CREATE INDEX books_title_trgm_idx ON books USING gin (title gin_trgm_ops);
CREATE INDEX books_metadata_idx ON books USING gin (metadata jsonb_path_ops);

-- The public listing, newest first, by keyset on (published_at, id): only live published books
-- are in it, and it carries what a list item shows, so a page is an index-only scan.
CREATE INDEX books_public_listing_idx ON books (published_at DESC, id DESC)
    INCLUDE (slug, title, subtitle, author_id, price)
    WHERE is_published AND deleted_at IS NULL;

-- An author's books, newest first; also indexes the foreign key.
CREATE INDEX books_author_published_idx ON books (author_id, published_at DESC);

-- No WHEN (OLD IS DISTINCT FROM NEW) here: PostgreSQL refuses a whole-row NEW in a BEFORE
-- trigger's condition on a table with generated columns, so every UPDATE bumps updated_at.
CREATE TRIGGER books_set_updated_at BEFORE UPDATE ON books
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
