-- Bulk import and export of books. An import stages its rows with COPY, rejects what the
-- database alone can judge, and upserts the rest in one statement, all in one transaction.

-- name: allow_long_import()$
-- An import is one transaction whose upsert maintains every index of books for every row, so
-- it may run far past the service's statement timeout: this lifts it to 30 minutes for this
-- transaction only (is_local), leaving the pooled connection as it was.
SELECT set_config('statement_timeout', '30min', true);

-- name: create_book_import_table()!
-- The staging table of one import: temporary and dropped at commit, so nothing of it outlives
-- the import or reaches the next borrower of the pooled connection. metadata stays text here
-- and becomes jsonb in the upsert.
CREATE TEMP TABLE book_import (
    line         integer PRIMARY KEY,
    isbn         text NOT NULL,
    slug         text NOT NULL,
    title        text NOT NULL,
    subtitle     text NOT NULL,
    description  text NOT NULL,
    author_id    uuid NOT NULL,
    price        numeric(12, 2) NOT NULL,
    stock        integer NOT NULL,
    is_published boolean NOT NULL,
    published_at timestamptz,
    metadata     text NOT NULL
) ON COMMIT DROP;

-- name: reject_staged_books()
-- Takes out of the staging table, with their line and reason, the rows the database would
-- refuse: an unknown author, an ISBN or slug that an earlier line already has, a slug that
-- another live book holds (books_slug_live_key). authors_pkey and the books indexes serve it.
-- plan: seq-scan ok on authors, the generic plan, blind to the staging table's size, hashes every
-- author once for the author check instead of probing authors_pkey per staged row; for an import
-- of thousands of rows that is the cheaper plan, and one import runs it once.
WITH verdicts AS (
    SELECT s.line,
           CASE
               WHEN NOT EXISTS (SELECT 1 FROM authors AS a WHERE a.id = s.author_id)
                   THEN 'author_id: no such author'
               WHEN row_number() OVER (PARTITION BY s.isbn ORDER BY s.line) > 1
                   THEN 'isbn: already on an earlier line'
               WHEN row_number() OVER (PARTITION BY s.slug ORDER BY s.line) > 1
                   THEN 'slug: already on an earlier line'
               WHEN EXISTS (SELECT 1 FROM books AS b
                            WHERE b.slug = s.slug AND b.deleted_at IS NULL AND b.isbn IS DISTINCT FROM s.isbn)
                   THEN 'slug: another book has it'
           END AS reason
    FROM book_import AS s
)
DELETE FROM book_import AS s
USING verdicts AS v
WHERE s.line = v.line AND v.reason IS NOT NULL
RETURNING v.line, v.reason;

-- name: upsert_staged_books()^
-- Inserts the staged books and updates those whose ISBN exists (books_isbn_key), in one
-- statement; says how many of each (xmax = 0 marks an insert).
WITH upserted AS (
    INSERT INTO books AS b (isbn, slug, title, subtitle, description, author_id, price, stock, is_published,
                            published_at, metadata)
    SELECT isbn, slug, title, subtitle, description, author_id, price, stock, is_published, published_at,
           metadata::jsonb
    FROM book_import
    ORDER BY line
    ON CONFLICT (isbn) DO UPDATE
    SET slug = excluded.slug, title = excluded.title, subtitle = excluded.subtitle,
        description = excluded.description, author_id = excluded.author_id, price = excluded.price,
        stock = excluded.stock, is_published = excluded.is_published, published_at = excluded.published_at,
        metadata = excluded.metadata
    RETURNING (b.xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
FROM upserted;

-- name: export_books()
-- Every live book in the import's own shape, in id order, read through a server-side cursor so
-- the service's memory stays flat whatever the catalog's size. A full scan by design. isbn is
-- NULL for a book without one: exported as such, and refused by an import (rows key on isbn).
SELECT isbn, slug, title, subtitle, description, author_id, price, stock, is_published, published_at, metadata
FROM books
WHERE deleted_at IS NULL
ORDER BY id;
