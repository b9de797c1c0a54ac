-- Catalog: tags and the many-to-many link to books.
-- depends: 0009_books
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE tags (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    name       text NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 100),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE book_tags (
    book_id    uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    tag_id     uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- A book's tags by the primary key; a tag's books by the reverse index.
    PRIMARY KEY (book_id, tag_id)
);
CREATE INDEX book_tags_tag_id_idx ON book_tags (tag_id, book_id);

CREATE TRIGGER tags_set_updated_at BEFORE UPDATE ON tags
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
