-- Orders and their lines: placed in one transaction, never overselling, idempotent by key.

-- name: claim_idempotency_key(user_id, idempotency_key, request_hash)$
-- Starts an order under the customer's key, or returns nothing when the key already has one
-- (orders_user_idempotency_key). A concurrent request with the same key waits here until the
-- first commits (then gets nothing) or rolls back (then goes on as the first).
INSERT INTO orders (user_id, idempotency_key, request_hash)
VALUES (:user_id, :idempotency_key, :request_hash)
ON CONFLICT (user_id, idempotency_key) DO NOTHING
RETURNING id;

-- name: get_order_by_idempotency_key(user_id, idempotency_key)^
-- The order a key already made and the hash of the request that made it: orders_user_idempotency_key.
SELECT id, request_hash
FROM orders
WHERE user_id = :user_id AND idempotency_key = :idempotency_key;

-- name: lock_books_for_order(book_ids)$
-- Locks the ordered books in id order before their stock changes, so two orders that share
-- books always queue in the same order instead of deadlocking; says how many: books_pkey.
SELECT count(*)
FROM (SELECT id FROM books WHERE id = any(:book_ids::uuid[]) ORDER BY id FOR NO KEY UPDATE) AS locked;

-- name: take_stock(book_ids, quantities)
-- Decrements stock for every line in one statement, only where the book is live, published and
-- has enough: a row per book served. Fewer rows than lines means the order cannot be placed.
UPDATE books AS b
SET stock = b.stock - w.quantity
FROM unnest(:book_ids::uuid[], :quantities::integer[]) AS w (book_id, quantity)
WHERE b.id = w.book_id AND b.is_published AND b.deleted_at IS NULL AND b.stock >= w.quantity
RETURNING b.id;

-- name: order_shortfalls(book_ids, quantities)
-- Why lines could not be served, for the answer to the customer: each line's book if it is
-- missing (deleted, unpublished, unknown) or short of stock, with what is left: books_pkey.
SELECT w.book_id,
       b.id IS NULL AS missing,
       coalesce(b.stock, 0) AS available,
       w.quantity AS wanted
FROM unnest(:book_ids::uuid[], :quantities::integer[]) AS w (book_id, quantity)
LEFT JOIN books AS b ON b.id = w.book_id AND b.is_published AND b.deleted_at IS NULL
WHERE b.id IS NULL OR b.stock < w.quantity
ORDER BY w.book_id;

-- name: add_order_lines(order_id, book_ids, quantities)$
-- Writes the lines in the order given, each at the book's current price, and sets the order's
-- total from them; returns the total. books_pkey finds the prices.
WITH lines AS (
    INSERT INTO order_lines (order_id, line_no, book_id, quantity, unit_price)
    SELECT :order_id, w.line_no, w.book_id, w.quantity, b.price
    FROM unnest(:book_ids::uuid[], :quantities::integer[]) WITH ORDINALITY AS w (book_id, quantity, line_no)
    JOIN books AS b ON b.id = w.book_id
    RETURNING quantity * unit_price AS amount
)
UPDATE orders
SET total = (SELECT sum(amount) FROM lines)
WHERE id = :order_id
RETURNING total;

-- name: get_order(caller_id, caller_role, id, user_id)^
-- An order with its lines and their books' titles, read for the caller in one statement
-- (prices as text: JSON numbers would lose their cents' zeros). Only the customer's own
-- (user_id), or any with user_id null (staff); row-level security is the second wall.
-- read_order (migration 0021): orders_pkey, then order_lines_pkey and books_pkey.
SELECT id, user_id, status, total, created_at, updated_at, lines
FROM read_order(:caller_id, :caller_role, :id, :user_id);

-- name: list_user_orders(caller_id, caller_role, user_id, after_id, limit)
-- A customer's orders newest first, by keyset on id, read for the caller in one statement.
-- read_orders (migration 0021): orders_user_newest_idx; the page's rows sorted again here.
SELECT id, user_id, status, total, created_at, updated_at
FROM read_orders(:caller_id, :caller_role, :user_id, :after_id, :limit)
ORDER BY id DESC;

-- name: set_order_status(id, user_id, from_statuses, to_status)^
-- Moves an order (the customer's own, or any with user_id null) to a new status only from the
-- given ones, so concurrent changes cannot both apply; no row when it is not in one of them
-- (or not there). orders_pkey.
UPDATE orders
SET status = :to_status
WHERE id = :id AND (:user_id::uuid IS NULL OR user_id = :user_id::uuid) AND status = any(:from_statuses::text[])
RETURNING id, status;

-- name: get_order_status(id, user_id)$
-- An order's status (the customer's own, or any with user_id null), to explain a refused
-- change: orders_pkey.
SELECT status FROM orders WHERE id = :id AND (:user_id::uuid IS NULL OR user_id = :user_id::uuid);

-- name: restock_order(order_id)!
-- Puts a cancelled order's quantities back on the shelf, in the cancelling transaction, in id
-- order as orders take them: order_lines_pkey, then books_pkey.
UPDATE books AS b
SET stock = b.stock + l.quantity
FROM (SELECT book_id, sum(quantity) AS quantity
      FROM order_lines
      WHERE order_id = :order_id
      GROUP BY book_id
      ORDER BY book_id) AS l
WHERE b.id = l.book_id;
