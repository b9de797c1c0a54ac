-- Private reads in one round trip. A read of a private table needs the caller named first
-- (migration 0007); in a transaction that is BEGIN, set_config, the read, COMMIT: four round
-- trips. Each function below is the read itself, preceded by name_caller as a statement of its
-- own: a SQL function runs its statements in order, each to its end before the next starts,
-- so the caller is in force before the read's executor starts, whatever plan the read gets
-- (a CTE or subquery in the same statement would not promise that order). A function of two
-- statements is never inlined into the statement that calls it.
--
-- Called as one statement outside a transaction, the caller (set_config(..., true)) ends with
-- that statement's implicit transaction: nothing of it stays on the connection, nor on a
-- transaction pooler's server session. Inside a transaction it lasts to the transaction's end,
-- like set_caller. The functions have no SET clause on purpose: one would end the caller with
-- the function, before the outer statement reads a row. SECURITY INVOKER (the default): the
-- row-level security policies apply as to any statement of the application role.
--
-- Parameters are qualified with the function's name in the bodies (read_order.order_id), as
-- a bare name would be taken for a column of the same name. Queries run by the functions
-- are served by the indexes their comments name; sql/ calls them (accounts, orders, bookings).
-- depends: 0020_updated_at_never_backwards
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- The caller, for the rest of the current transaction: what sql/auth/caller.sql runs too.
CREATE FUNCTION name_caller(caller_id uuid, caller_role text) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT set_config('app.user_id', coalesce(name_caller.caller_id::text, ''), true),
           set_config('app.role', name_caller.caller_role, true);
END;

-- All settings of a live user as one JSON object; no row when the user does not exist:
-- users_pkey, then user_settings_pkey.
CREATE FUNCTION read_settings(caller_id uuid, caller_role text, owner_id uuid) RETURNS SETOF jsonb
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_settings.caller_id, read_settings.caller_role);
    SELECT coalesce(jsonb_object_agg(s.key, s.value) FILTER (WHERE s.key IS NOT NULL), '{}')
    FROM users AS u
    LEFT JOIN user_settings AS s ON s.user_id = u.id
    WHERE u.id = read_settings.owner_id AND u.deleted_at IS NULL
    GROUP BY u.id;
END;

-- The profile of a live user: user_profiles_pkey, then users_pkey.
CREATE FUNCTION read_profile(caller_id uuid, caller_role text, owner_id uuid) RETURNS SETOF user_profiles
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_profile.caller_id, read_profile.caller_role);
    SELECT p.*
    FROM user_profiles AS p
    JOIN users AS u ON u.id = p.user_id
    WHERE p.user_id = read_profile.owner_id AND u.deleted_at IS NULL;
END;

-- A user's keys: api_keys_user_id_idx.
CREATE FUNCTION read_api_keys(caller_id uuid, caller_role text, owner_id uuid) RETURNS SETOF api_keys
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_api_keys.caller_id, read_api_keys.caller_role);
    SELECT k.* FROM api_keys AS k WHERE k.user_id = read_api_keys.owner_id;
END;

-- An order with its lines and their books' titles: orders_pkey, then order_lines_pkey and
-- books_pkey. Only owner_id's, or any with owner_id null (staff).
CREATE FUNCTION read_order(caller_id uuid, caller_role text, order_id uuid, owner_id uuid)
RETURNS TABLE (id uuid, user_id uuid, status text, total numeric, created_at timestamptz,
               updated_at timestamptz, lines json)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_order.caller_id, read_order.caller_role);
    SELECT o.id, o.user_id, o.status, o.total, o.created_at, o.updated_at,
           coalesce(
               (SELECT json_agg(json_build_object(
                           'line_no', l.line_no, 'book_id', l.book_id, 'title', b.title,
                           'quantity', l.quantity, 'unit_price', l.unit_price::text)
                       ORDER BY l.line_no)
                FROM order_lines AS l
                JOIN books AS b ON b.id = l.book_id
                WHERE l.order_id = o.id),
               '[]'
           )
    FROM orders AS o
    WHERE o.id = read_order.order_id AND (read_order.owner_id IS NULL OR o.user_id = read_order.owner_id);
END;

-- A page of a customer's orders newest first, by keyset on id: orders_user_newest_idx.
CREATE FUNCTION read_orders(caller_id uuid, caller_role text, owner_id uuid, after_id uuid, page_size int)
RETURNS SETOF orders
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_orders.caller_id, read_orders.caller_role);
    SELECT o.*
    FROM orders AS o
    WHERE o.user_id = read_orders.owner_id
      AND o.id < coalesce(read_orders.after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
    ORDER BY o.id DESC
    LIMIT read_orders.page_size;
END;

-- One invoice, voided ones only when asked: invoices_pkey. Only owner_id's, or any with
-- owner_id null (staff).
CREATE FUNCTION read_invoice(caller_id uuid, caller_role text, invoice_id uuid, owner_id uuid, with_voided boolean)
RETURNS SETOF invoices
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_invoice.caller_id, read_invoice.caller_role);
    SELECT i.*
    FROM invoices AS i
    WHERE i.id = read_invoice.invoice_id
      AND (read_invoice.owner_id IS NULL OR i.user_id = read_invoice.owner_id)
      AND (i.deleted_at IS NULL OR read_invoice.with_voided);
END;

-- The invoice of an order, voided ones only when asked: invoices_order_id_key. Only
-- owner_id's, or any with owner_id null (staff).
CREATE FUNCTION read_order_invoice(caller_id uuid, caller_role text, order_id uuid, owner_id uuid, with_voided boolean)
RETURNS SETOF invoices
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_order_invoice.caller_id, read_order_invoice.caller_role);
    SELECT i.*
    FROM invoices AS i
    WHERE i.order_id = read_order_invoice.order_id
      AND (read_order_invoice.owner_id IS NULL OR i.user_id = read_order_invoice.owner_id)
      AND (i.deleted_at IS NULL OR read_order_invoice.with_voided);
END;

-- A booking with its venue: bookings_pkey, then venues_pkey. Only owner_id's, or any with
-- owner_id null (staff).
CREATE FUNCTION read_booking(caller_id uuid, caller_role text, booking_id uuid, owner_id uuid)
RETURNS TABLE (id uuid, user_id uuid, starts_at timestamptz, ends_at timestamptz, amount numeric,
               status text, created_at timestamptz, updated_at timestamptz, venue json)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_booking.caller_id, read_booking.caller_role);
    SELECT b.id, b.user_id, b.starts_at, upper(b.during), b.amount, b.status, b.created_at, b.updated_at,
           json_build_object('id', v.id, 'name', v.name, 'address', v.address,
                             'latitude', v.latitude, 'longitude', v.longitude)
    FROM bookings AS b
    JOIN venues AS v ON v.id = b.venue_id
    WHERE b.id = read_booking.booking_id
      AND (read_booking.owner_id IS NULL OR b.user_id = read_booking.owner_id);
END;

-- A page of a customer's bookings with their venues, latest start first, by keyset on
-- (start, id): bookings_user_starts_idx, then venues_pkey per row. The first page starts after
-- (infinity, the greatest uuid), so the row comparison is an index condition in a generic plan.
CREATE FUNCTION read_bookings(
    caller_id uuid, caller_role text, owner_id uuid, after_starts_at timestamptz, after_id uuid, page_size int
)
RETURNS TABLE (id uuid, user_id uuid, starts_at timestamptz, ends_at timestamptz, amount numeric,
               status text, created_at timestamptz, updated_at timestamptz, venue json)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT name_caller(read_bookings.caller_id, read_bookings.caller_role);
    SELECT b.id, b.user_id, b.starts_at, upper(b.during), b.amount, b.status, b.created_at, b.updated_at,
           json_build_object('id', v.id, 'name', v.name, 'address', v.address,
                             'latitude', v.latitude, 'longitude', v.longitude)
    FROM bookings AS b
    JOIN venues AS v ON v.id = b.venue_id
    WHERE b.user_id = read_bookings.owner_id
      AND (b.starts_at, b.id) < (coalesce(read_bookings.after_starts_at, 'infinity'),
                                 coalesce(read_bookings.after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    ORDER BY b.starts_at DESC, b.id DESC
    LIMIT read_bookings.page_size;
END;
