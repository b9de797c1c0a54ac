-- Books: detail in one round trip, keyset and offset listings, staff writes, soft delete.

-- name: create_book(slug, isbn, title, subtitle, description, author_id, price, stock, is_published, published_at, metadata)$
-- Adds a book under the slug given; books_slug_live_key and books_isbn_key refuse duplicates,
-- the foreign key an unknown author. A published book without published_at is published now.
INSERT INTO books (slug, isbn, title, subtitle, description, author_id, price, stock, is_published, published_at,
                   metadata)
VALUES (:slug, :isbn, :title, :subtitle, :description, :author_id, :price, :stock, :is_published,
        coalesce(:published_at, CASE WHEN :is_published::boolean THEN now() END), :metadata)
RETURNING id;

-- name: create_book_with_derived_slug(base, isbn, title, subtitle, description, author_id, price, stock, is_published, published_at, metadata)$
-- Adds a book under the first free slug of :base, :base-2, ... :base-100, then :base-<the last 8
-- hex digits of its id>; with no :base (a title with no ASCII letter or digit), book-<those 8>.
-- Each candidate is one probe of books_slug_live_key. Two creators may pick the same free slug
-- at once: the second waits for the first at the unique index and, once it committed, gets no
-- row (ON CONFLICT DO NOTHING on that index alone; an ISBN or author still fails as in
-- create_book), and the service runs this again, its new snapshot seeing the first's slug.
WITH new AS (
    SELECT uuid_v7() AS id
), named AS (
    SELECT new.id, coalesce(:base::text, 'book-' || right(replace(new.id::text, '-', ''), 8)) AS base,
           right(replace(new.id::text, '-', ''), 8) AS tail
    FROM new
), candidate AS (
    SELECT c.slug
    FROM named,
         LATERAL (
             SELECT n, CASE WHEN n = 1 THEN named.base WHEN n <= 100 THEN named.base || '-' || n
                            ELSE named.base || '-' || named.tail END AS slug
             FROM generate_series(1, 101) AS n
         ) AS c
    WHERE NOT EXISTS (SELECT 1 FROM books AS b WHERE b.slug = c.slug AND b.deleted_at IS NULL)
    ORDER BY c.n
    LIMIT 1
)
INSERT INTO books (id, slug, isbn, title, subtitle, description, author_id, price, stock, is_published, published_at,
                   metadata)
SELECT named.id, candidate.slug, :isbn::text, :title::text, :subtitle::text, :description::text, :author_id::uuid,
       :price::numeric, :stock::integer, :is_published::boolean,
       coalesce(:published_at::timestamptz, CASE WHEN :is_published::boolean THEN now() END), :metadata::jsonb
FROM named, candidate
ON CONFLICT (slug) WHERE deleted_at IS NULL DO NOTHING
RETURNING id;

-- name: get_book_detail(id, slug)^
-- A live book by id or by slug, with its author, tags and rating summary in one round trip:
-- books_pkey or books_slug_live_key for the book, the primary keys of authors and book_tags
-- for its author and tags, reviews_book_newest_idx (covering rating) for the summary.
SELECT b.id, b.slug, b.isbn, b.title, b.subtitle, b.description, b.price, b.stock, b.is_published,
       b.published_at, b.metadata, b.created_at, b.updated_at,
       json_build_object('id', a.id, 'name', a.name) AS author,
       coalesce((
           SELECT json_agg(json_build_object('slug', t.slug, 'name', t.name) ORDER BY t.slug)
           FROM book_tags AS bt
           JOIN tags AS t ON t.id = bt.tag_id
           WHERE bt.book_id = b.id
       ), '[]') AS tags,
       (
           SELECT json_build_object('count', count(*), 'average', round(avg(r.rating), 2))
           FROM reviews AS r
           WHERE r.book_id = b.id
       ) AS rating
FROM books AS b
JOIN authors AS a ON a.id = b.author_id
WHERE (b.id = :id::uuid OR b.slug = :slug::text) AND b.deleted_at IS NULL;

-- name: list_books(after_published_at, after_id, limit)
-- The public listing, newest first, by keyset on (published_at, id): the row comparison starts
-- books_public_listing_idx right after the cursor (at its top for the first page), so a page deep
-- in the listing costs what the first one does.
SELECT b.id, b.slug, b.title, b.subtitle, b.price, b.published_at, json_build_object('id', a.id, 'name', a.name) AS author
FROM books AS b
JOIN authors AS a ON a.id = b.author_id
WHERE b.is_published AND b.deleted_at IS NULL
  AND (b.published_at, b.id) < (coalesce(:after_published_at::timestamptz, 'infinity'),
                                coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY b.published_at DESC, b.id DESC
LIMIT :limit;

-- name: list_books_page(limit, offset, exact_limit)
-- A numbered page of the public listing with its total: OFFSET walks and discards every row
-- before the page on books_public_listing_idx, so deep pages cost more; use the keyset listing.
-- Each page row's author is one authors_pkey probe (a scalar subquery), never a join of all authors.
-- The total: books_public_listing_idx holds exactly the live published books, and pg_class.reltuples
-- is its number of entries as of the last VACUUM or ANALYZE of books (autovacuum renews it as the
-- table changes). Above twice :exact_limit that estimate is the total, total_exact
-- false, and nothing is counted: counting 10,000 index entries costs more than the page itself.
-- Otherwise the books are counted, exactly up to :exact_limit (an index-only scan of at most that
-- many entries), and above it the total is the estimate, never below what was counted.
WITH listed AS NOT MATERIALIZED (
    SELECT id, slug, title, subtitle, author_id, price, published_at
    FROM books
    WHERE is_published AND deleted_at IS NULL
),
sized AS MATERIALIZED (  -- materialized, so the count runs once though the total reads it thrice
    SELECT estimate.n AS estimated,
           -- A subquery in a CASE branch runs only when that branch is taken.
           CASE WHEN estimate.n <= 2 * :exact_limit::bigint THEN
               (SELECT count(*) FROM (SELECT FROM listed LIMIT :exact_limit::bigint + 1) AS first_ones)
           END AS counted
    FROM (SELECT reltuples::bigint AS n FROM pg_class WHERE oid = 'books_public_listing_idx'::regclass) AS estimate
)
SELECT page.id, page.slug, page.title, page.subtitle, page.price, page.published_at,
       (SELECT json_build_object('id', a.id, 'name', a.name) FROM authors AS a WHERE a.id = page.author_id)
           AS author,
       counted.total, counted.total_exact
FROM (
    SELECT CASE WHEN counted <= :exact_limit::bigint THEN counted ELSE greatest(counted, estimated) END AS total,
           coalesce(counted <= :exact_limit::bigint, false) AS total_exact
    FROM sized
) AS counted
LEFT JOIN LATERAL (
    SELECT * FROM listed ORDER BY published_at DESC, id DESC LIMIT :limit OFFSET :offset
) AS page ON true
ORDER BY page.published_at DESC, page.id DESC;

-- name: list_author_books(author_id, limit)
-- An author's live published books, newest first: books_author_published_idx.
SELECT b.id, b.slug, b.title, b.subtitle, b.price, b.published_at, json_build_object('id', a.id, 'name', a.name) AS author
FROM books AS b
JOIN authors AS a ON a.id = b.author_id
WHERE b.author_id = :author_id AND b.is_published AND b.deleted_at IS NULL
ORDER BY b.published_at DESC, b.id DESC
LIMIT :limit;

-- name: update_book(id, slug, isbn, title, subtitle, description, author_id, price, stock, is_published, published_at, metadata)^
-- Partial update of a live book: a NULL parameter keeps the column as it is. A book published
-- by this change without a date of its own is published now, as on create (books_published_has_date).
UPDATE books
SET slug         = coalesce(:slug, slug),
    isbn         = coalesce(:isbn, isbn),
    title        = coalesce(:title, title),
    subtitle     = coalesce(:subtitle, subtitle),
    description  = coalesce(:description, description),
    author_id    = coalesce(:author_id::uuid, author_id),
    price        = coalesce(:price::numeric, price),
    stock        = coalesce(:stock::int, stock),
    is_published = coalesce(:is_published::boolean, is_published),
    published_at = coalesce(
        :published_at::timestamptz,
        published_at,
        CASE WHEN coalesce(:is_published::boolean, is_published) THEN now() END
    ),
    metadata     = coalesce(:metadata::jsonb, metadata)
WHERE id = :id AND deleted_at IS NULL
RETURNING id;

-- name: soft_delete_book(id)^
-- Takes a live book out of the listing, search and detail; reviews and tags stay for restore.
UPDATE books
SET deleted_at = now()
WHERE id = :id AND deleted_at IS NULL
RETURNING id;

-- name: restore_book(id)^
-- Brings a book back (a no-op for a live one); books_slug_live_key fails it when another live
-- book took the slug meanwhile.
UPDATE books
SET deleted_at = NULL
WHERE id = :id
RETURNING id;
