-- Operations: the audit log. Append-only: rows are only ever inserted (the application role
-- may not update or delete them), so a bigint identity orders them and occurred_at grows with
-- the physical order of the table, which is what a BRIN index needs to stay tiny and exact.
-- depends: 0011_reviews
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),  -- user:<id>, worker:<name>
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
    subject     text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),  -- order:<id>, invoice:<id>
    payload     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object')
);

-- Time-range reads (GET /admin/events?since=&until=): a few kilobytes however long the log.
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at);

-- ALTER DEFAULT PRIVILEGES (0006) granted the application role every write; the log takes none
-- but INSERT.
REVOKE UPDATE, DELETE, TRUNCATE ON events FROM bookshop_app;
