-- Reviews: one per user and book (reviews_one_per_user_and_book), newest first by keyset.

-- name: put_review(book_id, user_id, rating, body)^
-- Creates or replaces the user's review of a live published book in one atomic upsert, so two
-- concurrent first reviews end as one; no row when the book is not there. created tells an
-- insert (xmax = 0) from an update.
INSERT INTO reviews AS r (book_id, user_id, rating, body)
SELECT b.id, :user_id::uuid, :rating::smallint, :body::text
FROM books AS b
WHERE b.id = :book_id AND b.is_published AND b.deleted_at IS NULL
ON CONFLICT (book_id, user_id) DO UPDATE
SET rating = excluded.rating, body = excluded.body
RETURNING r.id, r.book_id, r.user_id, r.rating, r.body, r.created_at, r.updated_at, (r.xmax = 0) AS created;

-- name: delete_review(book_id, user_id)^
-- Removes the user's review of the book; no row when there was none.
DELETE FROM reviews
WHERE book_id = :book_id AND user_id = :user_id
RETURNING id;

-- name: list_reviews(book_id, after_id, limit)
-- A live published book's reviews newest first, by keyset on id: books_pkey finds the book,
-- reviews_book_newest_idx walks its reviews. No row when the book is deleted, unpublished or not
-- there (its reviews are not shown); one row of NULL review columns when it has none on this page.
SELECT r.id, r.book_id, r.user_id, r.rating, r.body, r.created_at, r.updated_at
FROM books AS b
LEFT JOIN LATERAL (
    SELECT id, book_id, user_id, rating, body, created_at, updated_at
    FROM reviews
    WHERE book_id = b.id AND id < coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
    ORDER BY id DESC
    LIMIT :limit
) AS r ON true
WHERE b.id = :book_id AND b.is_published AND b.deleted_at IS NULL
ORDER BY r.id DESC;
