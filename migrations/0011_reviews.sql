-- Catalog: reviews, one per user and book. A book's rating count and average are computed from
-- its reviews when read (an index range per book), so they are right by construction after any
-- add, change or removal, without a counter row that concurrent reviewers would queue on.
-- depends: 0009_books
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE reviews (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    book_id    uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A bounded quantity (1 to 5 stars), not a key or a counter that grows: 16 bits suffice.
    -- squawk-ignore prefer-bigint-over-smallint
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body       text NOT NULL DEFAULT '' CHECK (char_length(body) <= 5000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reviews_one_per_user_and_book UNIQUE (book_id, user_id)
);

-- A book's reviews newest first by keyset on id (UUIDv7), and its rating summary.
CREATE INDEX reviews_book_newest_idx ON reviews (book_id, id DESC) INCLUDE (rating);
CREATE INDEX reviews_user_id_idx ON reviews (user_id);

CREATE TRIGGER reviews_set_updated_at BEFORE UPDATE ON reviews
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();
