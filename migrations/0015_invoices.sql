-- Invoices: one per order, issued by the issue_invoice job, numbered INV-<year>-<nnnnnn> from a
-- sequence (a rolled-back issue leaves a gap, as sequences do), voided by soft delete.
-- depends: 0014_orders
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE SEQUENCE invoice_number_seq;

CREATE TABLE invoices (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    -- One invoice per order, voided or not: issuing twice (a job run again) finds it there.
    order_id   uuid NOT NULL UNIQUE REFERENCES orders (id),
    user_id    uuid NOT NULL REFERENCES users (id),
    number     text NOT NULL UNIQUE CHECK (number ~ '^INV-[0-9]{4}-[0-9]{6,}$'),
    amount     numeric(12, 2) NOT NULL CHECK (amount >= 0),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,  -- voided
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Live invoices newest first (GET /invoices): voided ones are not in it.
CREATE INDEX invoices_live_idx ON invoices (issued_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX invoices_user_id_idx ON invoices (user_id);

CREATE TRIGGER invoices_set_updated_at BEFORE UPDATE ON invoices
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();

ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_owner_or_staff ON invoices
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_staff()));
