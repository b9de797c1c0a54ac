-- Full-text search over live published books, and title suggestions for a misspelt query.

-- name: search_books(q, tag, author_id, min_price, max_price, after_rank, after_id, limit)
-- Books matching a websearch query ("quoted phrase", or, -word), best first: books_search_idx
-- (GIN on the generated tsvector) finds the candidates, ts_rank orders them (title hits weigh
-- A, subtitle B, description C), and keyset paging continues after (rank, id). Only the page's
-- rows get a highlighted snippet, since ts_headline re-reads the text. Filters combine.
WITH query AS MATERIALIZED (
    SELECT websearch_to_tsquery('english', :q::text) AS tsq
), hits AS (
    SELECT b.id, ts_rank(b.search, query.tsq) AS rank
    FROM books AS b, query
    WHERE b.search @@ query.tsq
      AND b.is_published AND b.deleted_at IS NULL
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM book_tags AS bt JOIN tags AS t ON t.id = bt.tag_id
              WHERE bt.book_id = b.id AND t.slug = :tag::text))
      AND (:author_id::uuid IS NULL OR b.author_id = :author_id::uuid)
      AND (:min_price::numeric IS NULL OR b.price >= :min_price::numeric)
      AND (:max_price::numeric IS NULL OR b.price <= :max_price::numeric)
      AND (ts_rank(b.search, query.tsq), b.id) < (coalesce(:after_rank::real, 'Infinity'),
                                                   coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    ORDER BY rank DESC, b.id DESC
    LIMIT :limit
)
SELECT b.id, b.slug, b.title, b.subtitle, b.price, b.published_at,
       json_build_object('id', a.id, 'name', a.name) AS author,
       hits.rank,
       ts_headline('english', b.title || '. ' || b.subtitle || '. ' || b.description, query.tsq,
                   'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2') AS snippet
FROM hits
JOIN books AS b ON b.id = hits.id
JOIN authors AS a ON a.id = b.author_id
CROSS JOIN query
ORDER BY hits.rank DESC, hits.id DESC;

-- name: count_newest_matches(q, tag, author_id, min_price, max_price, sample)$
-- How many of the :sample newest listed books match (books_public_listing_idx, walked :sample
-- rows): a quarter of them or more makes a query broad (catalog/service.py), and then
-- search_books_bounded's walk to its newest matches stays short. The filters are search_books'.
SELECT count(*)
FROM (
    SELECT id, author_id, price, search
    FROM books
    WHERE is_published AND deleted_at IS NULL
    ORDER BY published_at DESC, id DESC
    LIMIT :sample
) AS b, websearch_to_tsquery('english', :q::text) AS tsq
WHERE ts_match_vq(b.search, tsq)
  AND (:tag::text IS NULL OR EXISTS (
          SELECT 1 FROM book_tags AS bt JOIN tags AS t ON t.id = bt.tag_id
          WHERE bt.book_id = b.id AND t.slug = :tag::text))
  AND (:author_id::uuid IS NULL OR b.author_id = :author_id::uuid)
  AND (:min_price::numeric IS NULL OR b.price >= :min_price::numeric)
  AND (:max_price::numeric IS NULL OR b.price <= :max_price::numeric);

-- name: search_books_bounded(q, tag, author_id, min_price, max_price, rank_limit, after_rank, after_id, limit)
-- search_books for a broad query (more than :rank_limit matches): only the :rank_limit newest
-- matches are ranked, best first (title hits weigh most, so they lead), and keyset paging
-- continues within them; `candidates` says how many were ranked. The newest matches come from books_public_listing_idx, walked newest
-- first with the match checked on each row (ts_match_vq, the function behind @@, which no index
-- serves: whatever the plan cache decides, the walk stops after :rank_limit matches instead of
-- reading every match from books_search_idx).
-- plan: seq-scan ok on tags, the tag filter looks up one tag by slug per candidate, as in search_books.
WITH query AS MATERIALIZED (
    SELECT websearch_to_tsquery('english', :q::text) AS tsq
), candidates AS MATERIALIZED (
    SELECT b.id, ts_rank(b.search, query.tsq) AS rank
    FROM books AS b, query
    WHERE ts_match_vq(b.search, query.tsq)
      AND b.is_published AND b.deleted_at IS NULL
      AND (:tag::text IS NULL OR EXISTS (
              SELECT 1 FROM book_tags AS bt JOIN tags AS t ON t.id = bt.tag_id
              WHERE bt.book_id = b.id AND t.slug = :tag::text))
      AND (:author_id::uuid IS NULL OR b.author_id = :author_id::uuid)
      AND (:min_price::numeric IS NULL OR b.price >= :min_price::numeric)
      AND (:max_price::numeric IS NULL OR b.price <= :max_price::numeric)
    ORDER BY b.published_at DESC, b.id DESC
    LIMIT :rank_limit
), hits AS (
    SELECT id, rank
    FROM candidates
    WHERE (rank, id) < (coalesce(:after_rank::real, 'Infinity'),
                        coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    ORDER BY rank DESC, id DESC
    LIMIT :limit
)
SELECT b.id, b.slug, b.title, b.subtitle, b.price, b.published_at,
       json_build_object('id', a.id, 'name', a.name) AS author,
       hits.rank,
       ts_headline('english', b.title || '. ' || b.subtitle || '. ' || b.description, query.tsq,
                   'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2') AS snippet,
       (SELECT count(*) FROM candidates) AS candidates
FROM hits
JOIN books AS b ON b.id = hits.id
JOIN authors AS a ON a.id = b.author_id
CROSS JOIN query
ORDER BY hits.rank DESC, hits.id DESC;

-- name: suggest_titles(q, limit)
-- Titles of live published books with a word close to the query (for "did you mean"), closest
-- first: books_title_trgm_idx serves <% at the application role's word similarity threshold.
SELECT slug, title
FROM books
WHERE :q::text <% title AND is_published AND deleted_at IS NULL
ORDER BY word_similarity(:q::text, title) DESC, id
LIMIT :limit;
