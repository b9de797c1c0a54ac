-- Orders, invoices, jobs and the audit log: the realistic data set behind `bookshop seed
-- --orders N`, generated in SQL and loaded as the owner, like the catalog's (sql/catalog/seed.sql).
-- A run is a year of trade: its orders are spread evenly over the year before now, each batch a
-- slice of it in time order, so orders' UUIDv7 ids, jobs' identity ids and events' ids all grow
-- with their time as the service's would. Each order's life follows the service: placed with its
-- lines at the books' prices and an issue_invoice job, invoiced by the worker a few seconds
-- later, then paid and shipped, or cancelled (which voids an invoice already issued).

-- name: seed_order_numbering()$
-- The highest number a generated order's idempotency key (seed-<n>) carries, so a run numbers
-- after it and its keys never collide.
-- plan: seq-scan ok on orders, the seed generator's bookkeeping: no index serves a number at the
-- end of a key, and one pass per run costs less than an index every order would maintain.
SELECT coalesce(max(substring(idempotency_key FROM '^seed-([0-9]{1,18})$')::bigint), 0) FROM orders;

-- name: seed_order_shelf(limit)^
-- Books that can be ordered (live and published) with their prices: the first :limit by id
-- (books_pkey), as two arrays in the same order. Prices in cents: an element of a bigint[] is
-- found by its offset, where numeric[] elements (of varying width) are walked to from the start.
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS book_ids,
       coalesce(array_agg((price * 100)::bigint ORDER BY id), '{}') AS price_cents
FROM (SELECT id, price FROM books WHERE is_published AND deleted_at IS NULL ORDER BY id LIMIT :limit) AS shelf;

-- name: seed_order_bookings(limit)^
-- Completed bookings whose completion the complete_booking jobs recorded: the first :limit by
-- id (bookings_pkey), with their venues, as two arrays in the same order.
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS booking_ids, coalesce(array_agg(venue_id ORDER BY id), '{}') AS venue_ids
FROM (SELECT id, venue_id FROM bookings WHERE status = 'completed' ORDER BY id LIMIT :limit) AS done;

-- name: seed_create_order_events_table()!
-- The run's events, staged until its last batch: a batch's orders are cancelled and its
-- bookings completed after later batches' orders are placed, and the log is appended in time
-- order (events_occurred_at_brin), so they are written at the end, sorted, in one statement.
CREATE TEMPORARY TABLE IF NOT EXISTS seed_order_events (
    occurred_at timestamptz NOT NULL,
    actor       text NOT NULL,
    kind        text NOT NULL,
    subject     text NOT NULL,
    payload     jsonb NOT NULL
) ON COMMIT DROP;

-- name: seed_orders(first, count, run_first, span_days, step_seconds, user_ids, book_ids, price_cents, booking_ids, venue_ids)^
-- Orders number :first to :first + :count - 1 (idempotency key seed-<n>); order n is placed at
-- now() - :span_days days + (n - :run_first + random()) * :step_seconds (now(): the run's
-- transaction's start), by a customer drawn from :user_ids (a
-- few order often), with 1 to 4 lines (mostly 1) on distinct books of :book_ids at their
-- prices (:price_cents), 1 to 3 copies each. Its id is a UUIDv7 of that moment, made as
-- uuid_v7() makes one.
-- Statuses by age: 5% cancelled; of the rest, older than a week 2% never paid and the others
-- shipped, younger ones pending, paid or shipped. Each order's issue_invoice job ran 2 to 60 s
-- after it (done; 0.3% failed for good; in the last day some queued for a retry or running);
-- a done job issued the invoice (INV-<year>-<nnnnnn> from invoice_number_seq, numbered in issue
-- order) unless the order was cancelled first (30% of cancellations); a later cancellation
-- voided it. As many complete_booking jobs, spread over the same slice, completed bookings drawn
-- from :booking_ids (none without bookings): done when the booking ended, queued while it has
-- not. Jobs are inserted in time order. The batch's events go to seed_order_events. Returns
-- what it wrote.
WITH timed AS (
    SELECT n,
           now() - make_interval(days => :span_days::int) + make_interval(secs => ((n - :run_first::bigint) + random()) * :step_seconds::float8)
               AS placed_at,
           random() AS r, random() AS s, random() AS t
    FROM generate_series(:first::bigint, :first::bigint + :count::int - 1) AS n
),
drafts AS MATERIALIZED (
    SELECT n, placed_at, s, t, issue_at, status,
           encode(substring(int8send(micros / 1000) FROM 3)
                  || int2send((28672 + (micros % 1000) * 4096 / 1000)::smallint)
                  || substring(uuid_send(gen_random_uuid()) FROM 9), 'hex')::uuid AS id,
           (:user_ids::uuid[])[1 + floor(random() ^ 2 * cardinality(:user_ids::uuid[]))::int] AS user_id,
           least(1 + floor(random() ^ 2 * 4)::int, cardinality(:book_ids::uuid[])) AS line_count,
           1 + floor(random() * cardinality(:book_ids::uuid[]))::int AS first_book,
           CASE WHEN status <> 'cancelled' THEN NULL
                WHEN s < 0.3 THEN placed_at + (issue_at - placed_at) * random()
                ELSE least(now(), issue_at + interval '2 days' * random())
           END AS cancelled_at,
           CASE WHEN issue_at > now() THEN 'queued'
                WHEN placed_at > now() - interval '1 day' AND t < 0.02 THEN 'queued'
                WHEN placed_at > now() - interval '1 day' AND t < 0.03 THEN 'running'
                WHEN t < 0.003 THEN 'failed'
                ELSE 'done'
           END AS job_status
    FROM (
        SELECT n, placed_at, s, t,
               placed_at + (2 + 58 * random()) * interval '1 second' AS issue_at,
               CASE WHEN r < 0.05 THEN 'cancelled'
                    WHEN placed_at < now() - interval '7 days' THEN CASE WHEN r < 0.07 THEN 'pending' ELSE 'shipped' END
                    WHEN placed_at < now() - interval '2 days'
                        THEN CASE WHEN r < 0.2 THEN 'pending' WHEN r < 0.45 THEN 'paid' ELSE 'shipped' END
                    ELSE CASE WHEN r < 0.5 THEN 'pending' WHEN r < 0.8 THEN 'paid' ELSE 'shipped' END
               END AS status,
               (extract(epoch FROM placed_at) * 1000000)::bigint AS micros
        FROM timed
        WHERE cardinality(:user_ids::uuid[]) > 0 AND cardinality(:book_ids::uuid[]) > 0
    ) AS aged
),
lines AS MATERIALIZED (
    SELECT d.id AS order_id, i AS line_no, book, 1 + floor(random() ^ 3 * 3)::int AS quantity
    FROM drafts AS d
    -- Distinct books in one order: steps of a prime through the shelf from a random first book.
    CROSS JOIN LATERAL (
        SELECT i, 1 + (d.first_book - 1 + (i - 1) * 7919) % cardinality(:book_ids::uuid[]) AS book
        FROM generate_series(1, d.line_count) AS i
    ) AS drawn
),
totals AS (
    SELECT order_id, sum(quantity * (:price_cents::bigint[])[book] / 100.0) AS total FROM lines GROUP BY order_id
),
placed AS (
    INSERT INTO orders (id, user_id, status, total, idempotency_key, request_hash, created_at, updated_at)
    SELECT d.id, d.user_id, d.status, t.total, 'seed-' || d.n, encode(sha256(convert_to('seed-' || d.n, 'UTF8')), 'hex'),
           d.placed_at,
           CASE d.status WHEN 'pending' THEN d.placed_at
                         WHEN 'cancelled' THEN d.cancelled_at
                         WHEN 'paid' THEN least(now(), d.placed_at + interval '1 day' * random())
                         ELSE least(now(), d.placed_at + interval '1 day' + interval '3 days' * random())
           END
    FROM drafts AS d
    JOIN totals AS t ON t.order_id = d.id
    ORDER BY d.placed_at
    RETURNING id
),
lined AS (
    INSERT INTO order_lines (order_id, line_no, book_id, quantity, unit_price)
    SELECT order_id, line_no, (:book_ids::uuid[])[book], quantity, (:price_cents::bigint[])[book] / 100.0
    FROM lines
    RETURNING 1
),
issued AS MATERIALIZED (
    SELECT d.id AS order_id, d.user_id, d.issue_at, d.status, d.cancelled_at, t.total,
           encode(substring(int8send(micros / 1000) FROM 3)
                  || int2send((28672 + (micros % 1000) * 4096 / 1000)::smallint)
                  || substring(uuid_send(gen_random_uuid()) FROM 9), 'hex')::uuid AS id
    FROM drafts AS d
    JOIN totals AS t ON t.order_id = d.id
    CROSS JOIN LATERAL (SELECT (extract(epoch FROM d.issue_at) * 1000000)::bigint AS micros) AS clock
    WHERE d.job_status = 'done' AND (d.cancelled_at IS NULL OR d.cancelled_at > d.issue_at)
),
invoiced AS (
    INSERT INTO invoices (id, order_id, user_id, number, amount, issued_at, deleted_at, created_at, updated_at)
    SELECT id, order_id, user_id,
           'INV-' || to_char(issue_at AT TIME ZONE 'UTC', 'YYYY') || '-' || lpad(nextval('invoice_number_seq')::text, 6, '0'),
           total, issue_at, cancelled_at, issue_at, coalesce(cancelled_at, issue_at)
    FROM (SELECT * FROM issued ORDER BY issue_at) AS in_issue_order
    RETURNING id, order_id, number, amount, issued_at
),
booking_jobs AS MATERIALIZED (
    SELECT confirmed_at, ends_at, pick,
           CASE WHEN ends_at > now() THEN 'queued' WHEN random() < 0.005 THEN 'failed' ELSE 'done' END AS status
    FROM (SELECT confirmed_at, confirmed_at + interval '1 day' + interval '13 days' * random() AS ends_at, pick
    FROM (
        SELECT now() - make_interval(days => :span_days::int) + make_interval(secs => ((n - :run_first::bigint) + random()) * :step_seconds::float8)
                   AS confirmed_at,
               1 + floor(random() * cardinality(:booking_ids::uuid[]))::int AS pick
        FROM generate_series(:first::bigint, :first::bigint + :count::int - 1) AS n
        WHERE cardinality(:booking_ids::uuid[]) > 0
    ) AS drawn) AS timed_bookings
),
queued AS (
    INSERT INTO jobs (kind, payload, status, attempts, run_at, locked_at, locked_by, last_error, created_at, updated_at)
    SELECT kind, payload, status, attempts, run_at, locked_at, locked_by, last_error, created_at, updated_at
    FROM (
        SELECT 'issue_invoice' AS kind, jsonb_build_object('order_id', d.id) AS payload, d.job_status AS status,
               CASE d.job_status WHEN 'failed' THEN 5 WHEN 'done' THEN 1 + (random() < 0.02)::int
                                 WHEN 'running' THEN 1 ELSE (d.issue_at <= now())::int * (1 + floor(random() * 3)::int)
               END AS attempts,
               CASE WHEN d.job_status = 'queued' AND d.issue_at <= now() THEN now() + interval '10 minutes' * random()
                    WHEN d.job_status = 'queued' THEN d.placed_at
                    WHEN d.job_status = 'running' THEN now() + interval '30 seconds' * random()
                    ELSE d.issue_at + interval '30 seconds'
               END AS run_at,
               CASE WHEN d.job_status = 'running' THEN now() - interval '30 seconds' * random() END AS locked_at,
               CASE WHEN d.job_status = 'running' THEN 'seed-worker' END AS locked_by,
               CASE WHEN d.job_status = 'failed' OR (d.job_status = 'queued' AND d.issue_at <= now())
                    THEN 'ConnectionDoesNotExistError: connection was closed in the middle of operation'
               END AS last_error,
               d.placed_at AS created_at,
               CASE WHEN d.job_status = 'queued' AND d.issue_at > now() THEN d.placed_at
                    WHEN d.job_status IN ('queued', 'running') THEN now() - interval '1 minute' * random()
                    ELSE d.issue_at
               END AS updated_at
        FROM drafts AS d
        UNION ALL
        SELECT 'complete_booking',
               jsonb_build_object('booking_id', (:booking_ids::uuid[])[pick]),
               status,
               CASE status WHEN 'queued' THEN 0 WHEN 'failed' THEN 5 ELSE 1 END,
               ends_at, NULL, NULL,
               CASE WHEN status = 'failed' THEN 'TimeoutError: the booking could not be completed' END,
               confirmed_at, least(now(), ends_at + interval '5 seconds')
        FROM booking_jobs
    ) AS both_kinds
    ORDER BY created_at
    RETURNING id, status, last_error, updated_at
),
logged AS (
    INSERT INTO pg_temp.seed_order_events (occurred_at, actor, kind, subject, payload)
    SELECT d.placed_at, 'user:' || d.user_id, 'order_placed', 'order:' || d.id,
           jsonb_build_object('total', t.total::text, 'lines', d.line_count)
    FROM drafts AS d
    JOIN totals AS t ON t.order_id = d.id
    UNION ALL
    SELECT i.issued_at, 'worker', 'invoice_issued', 'invoice:' || i.id,
           jsonb_build_object('order_id', i.order_id, 'number', i.number, 'amount', i.amount::text)
    FROM invoiced AS i
    UNION ALL
    SELECT d.cancelled_at, 'user:' || d.user_id, 'order_cancelled', 'order:' || d.id,
           jsonb_build_object('voided_invoice', i.number)
    FROM drafts AS d
    LEFT JOIN invoiced AS i ON i.order_id = d.id
    WHERE d.status = 'cancelled'
    UNION ALL
    SELECT least(now(), b.ends_at + interval '5 seconds'), 'worker', 'booking_completed', 'booking:' || (:booking_ids::uuid[])[b.pick],
           jsonb_build_object('venue_id', (:venue_ids::uuid[])[b.pick])
    FROM booking_jobs AS b
    WHERE b.status = 'done'
    UNION ALL
    SELECT j.updated_at, 'worker:seed-worker', 'job_failed', 'job:' || j.id, jsonb_build_object('error', j.last_error)
    FROM queued AS j
    WHERE j.status = 'failed'
    RETURNING 1
)
SELECT (SELECT count(*) FROM placed) AS orders,
       (SELECT count(*) FROM lined) AS order_lines,
       (SELECT count(*) FROM invoiced) AS invoices,
       (SELECT count(*) FROM queued) AS jobs,
       (SELECT count(*) FROM logged) AS events;

-- name: seed_write_order_events()$
-- Appends the run's staged events to the audit log in time order, so occurred_at grows with
-- the table's physical order as the service's appends make it (events_occurred_at_brin), and
-- says how many.
-- plan: seq-scan ok, the staging table is read whole once per run, which is what it is for.
WITH written AS (
    INSERT INTO events (occurred_at, actor, kind, subject, payload)
    SELECT occurred_at, actor, kind, subject, payload
    FROM pg_temp.seed_order_events
    ORDER BY occurred_at
    RETURNING 1
)
SELECT count(*) FROM written;

-- name: seed_customer_accounts(user_ids)^
-- What customers keep in their accounts, for :user_ids: an API key for 80% of them (a random
-- prefix and the SHA-256 of a random secret, so it is stored as a real key is but opens
-- nothing: no one knows its secret), a profile for 60%, and 1 to 3 settings each. Keys and
-- profiles date from the customers' first year. Existing profiles and settings are kept
-- (user_profiles_pkey, user_settings_pkey); returns what it wrote.
WITH customers AS MATERIALIZED (
    SELECT id, random() AS r, now() - interval '1 year' * random() AS since
    FROM unnest(:user_ids::uuid[]) AS id
),
keyed AS (
    INSERT INTO api_keys (user_id, prefix, secret_hash, name, last_used_at, created_at, updated_at)
    SELECT id, substr(md5(random()::text || id::text), 1, 12), sha256(uuid_send(gen_random_uuid())),
           (ARRAY['', 'laptop', 'phone', 'script'])[1 + floor(random() * 4)::int],
           CASE WHEN r < 0.6 THEN since + (now() - since) * random() END, since, since
    FROM customers
    WHERE r < 0.8
    ON CONFLICT (prefix) DO NOTHING
    RETURNING 1
),
profiled AS (
    INSERT INTO user_profiles (user_id, bio, location, website, created_at, updated_at)
    SELECT id,
           (ARRAY['Reader of everything.', 'Mostly crime, some poetry.', 'Collector of first editions.', ''])
               [1 + floor(random() * 4)::int],
           (ARRAY['London', 'Paris', 'Berlin', 'Lisbon', 'Toronto', NULL])[1 + floor(random() * 6)::int],
           CASE WHEN random() < 0.2 THEN 'https://readers.example/' || id END,
           since, since
    FROM customers
    WHERE r < 0.6
    ON CONFLICT (user_id) DO NOTHING
    RETURNING 1
),
configured AS (
    INSERT INTO user_settings (user_id, key, value, created_at, updated_at)
    SELECT c.id, k.key, k.value, c.since, c.since
    FROM customers AS c
    CROSS JOIN LATERAL (
        SELECT key, value
        FROM (VALUES (1, 'theme', to_jsonb((ARRAY['light', 'dark'])[1 + floor(random() * 2)::int])),
                     (2, 'language', to_jsonb((ARRAY['en', 'fr', 'de', 'pt'])[1 + floor(random() * 4)::int])),
                     (3, 'newsletter.frequency', to_jsonb((ARRAY['weekly', 'monthly'])[1 + floor(random() * 2)::int])))
             AS choices (rank, key, value)
        WHERE rank <= 1 + floor(c.r * 3)::int
    ) AS k
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM keyed) AS api_keys, (SELECT count(*) FROM profiled) AS profiles,
       (SELECT count(*) FROM configured) AS settings;

-- name: seed_analyze_orders()!
-- Fresh planner statistics for the tables the generator wrote.
ANALYZE orders, order_lines, invoices, jobs, events, api_keys, user_profiles, user_settings;
