-- Tags and the tags of a book.

-- name: create_tag(name, slug)^
-- Adds a tag; tags_slug_key refuses a duplicate slug.
INSERT INTO tags (name, slug)
VALUES (:name, :slug)
RETURNING slug, name;

-- name: list_tags()
-- Every tag with the number of live published books that carry it, most used first;
-- book_tags_tag_id_idx feeds the count. Tags are few, so all of them are counted.
-- plan: seq-scan ok, exact counts of every tag read every book tag and every live published book
-- (hashed, no index helps a full count); O(books) per call, so a counter kept by trigger is the
-- fix if GET /tags grows hot.
SELECT t.slug, t.name, count(b.id) AS books
FROM tags AS t
LEFT JOIN book_tags AS bt ON bt.tag_id = t.id
LEFT JOIN books AS b ON b.id = bt.book_id AND b.is_published AND b.deleted_at IS NULL
GROUP BY t.id
ORDER BY books DESC, t.slug;

-- name: replace_book_tags(book_id, slugs)$
-- Makes the book's tags exactly the tags with these slugs, in one statement; returns how many
-- of the slugs name a tag, so the caller can refuse unknown ones (and roll back) in the same
-- transaction. book_tags_pkey and tags_slug_key serve it.
WITH wanted AS (
    SELECT id FROM tags WHERE slug = any(:slugs::text[])
), removed AS (
    DELETE FROM book_tags
    WHERE book_id = :book_id AND tag_id NOT IN (SELECT id FROM wanted)
), added AS (
    INSERT INTO book_tags (book_id, tag_id)
    SELECT :book_id, id FROM wanted
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM wanted;
