-- Orders and their lines. An order is placed in one transaction (stock decremented where it
-- suffices, prices captured, an issue_invoice job queued); its idempotency key makes a retried
-- POST return the same order. Both tables are private: row-level security as in 0007.
-- depends: 0013_jobs
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE orders (
    id              uuid PRIMARY KEY DEFAULT uuid_v7(),
    user_id         uuid NOT NULL REFERENCES users (id),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    total           numeric(12, 2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    request_hash    text NOT NULL,  -- sha256 of the request's lines: the same key must mean the same order
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- One order per key and customer; it also serves a customer's orders (user_id leads).
    CONSTRAINT orders_user_idempotency_key UNIQUE (user_id, idempotency_key)
);

-- A customer's orders newest first, by keyset on id (UUIDv7).
CREATE INDEX orders_user_newest_idx ON orders (user_id, id DESC);

CREATE TRIGGER orders_set_updated_at BEFORE UPDATE ON orders
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();

CREATE TABLE order_lines (
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- A line's number within its order: bounded by the lines one order holds, so 16 bits suffice.
    -- squawk-ignore prefer-bigint-over-smallint
    line_no    smallint NOT NULL CHECK (line_no >= 1),
    book_id    uuid NOT NULL REFERENCES books (id),
    -- A bounded quantity (copies in one line), not a key or a counter that grows: 32 bits suffice.
    -- squawk-ignore prefer-bigint-over-int
    quantity   integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(12, 2) NOT NULL CHECK (unit_price >= 0),  -- the book's price when ordered
    PRIMARY KEY (order_id, line_no)
);

CREATE INDEX order_lines_book_id_idx ON order_lines (book_id);

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_owner_or_staff ON orders
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()));

-- A line is visible and writable with its order: the subquery on orders is itself under the
-- policy above.
ALTER TABLE order_lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY order_lines_with_their_order ON order_lines
    USING (EXISTS (SELECT 1 FROM orders AS o WHERE o.id = order_id))
    WITH CHECK (EXISTS (SELECT 1 FROM orders AS o WHERE o.id = order_id));
