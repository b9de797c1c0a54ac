-- Authors: public reads, staff writes. Served by authors_pkey unless a query says otherwise.

-- name: create_author(name, bio)^
-- Adds an author.
INSERT INTO authors (name, bio)
VALUES (:name, :bio)
RETURNING id, name, bio, created_at, updated_at;

-- name: get_author(id)^
-- One author by id.
SELECT id, name, bio, created_at, updated_at
FROM authors
WHERE id = :id;

-- name: update_author(id, name, bio)^
-- Partial update: a NULL parameter keeps the column as it is.
UPDATE authors
SET name = coalesce(:name, name),
    bio  = coalesce(:bio, bio)
WHERE id = :id
RETURNING id, name, bio, created_at, updated_at;

-- name: delete_author(id)^
-- Removes an author; books_author_id_fkey refuses while any book (live or deleted) names them.
DELETE FROM authors
WHERE id = :id
RETURNING id;

-- name: list_authors(after_id, limit)
-- Authors newest first (UUIDv7 ids sort by creation), by keyset on id.
SELECT id, name, bio, created_at, updated_at
FROM authors
WHERE id < coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
ORDER BY id DESC
LIMIT :limit;

-- name: search_authors(q, limit)
-- Authors whose name contains the fragment, or a word close to it (a typo), best match first:
-- authors_name_trgm_idx serves both the ILIKE and <% (word similarity at least the application
-- role's pg_trgm.word_similarity_threshold, 0.4, set by the bootstrap).
SELECT id, name, round(word_similarity(:q::text, name)::numeric, 3)::float8 AS score
FROM authors
WHERE name ILIKE like_contains(:q::text) OR :q::text <% name
ORDER BY (name ILIKE like_contains(:q::text)) DESC, word_similarity(:q::text, name) DESC, id
LIMIT :limit;

-- name: author_stats(limit)
-- Live published books per author, authors with none included, most first. A full aggregate:
-- books_author_published_idx feeds the join, but every author is counted.
-- plan: seq-scan ok, every author and every live published book is counted before the top
-- :limit are known, so both tables are read whole (a hash join beats an index probe per author).
SELECT a.id, a.name, count(b.id) AS books
FROM authors AS a
LEFT JOIN books AS b ON b.author_id = a.id AND b.is_published AND b.deleted_at IS NULL
GROUP BY a.id
ORDER BY books DESC, a.name, a.id
LIMIT :limit;
