-- Invoices: issued once per order by the issue_invoice job, voided by soft delete.

-- name: issue_invoice(order_id)^
-- Issues the order's invoice unless it has one (invoices_order_id_key) or was cancelled; safe
-- to run again. The number comes from invoice_number_seq only when an invoice is written.
INSERT INTO invoices (order_id, user_id, number, amount)
SELECT o.id, o.user_id,
       'INV-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY') || '-' || lpad(nextval('invoice_number_seq')::text, 6, '0'),
       o.total
FROM orders AS o
WHERE o.id = :order_id AND o.status <> 'cancelled'
  AND NOT EXISTS (SELECT 1 FROM invoices AS i WHERE i.order_id = o.id)
ON CONFLICT (order_id) DO NOTHING
RETURNING id, order_id, user_id, number, amount, issued_at, deleted_at AS voided_at;

-- name: get_invoice(caller_id, caller_role, id, user_id, include_voided)^
-- One invoice (the customer's own, or any with user_id null), voided ones only when asked,
-- read for the caller in one statement. read_invoice (migration 0021): invoices_pkey.
-- Row-level security is the second wall.
SELECT id, order_id, user_id, number, amount, issued_at, deleted_at AS voided_at
FROM read_invoice(:caller_id, :caller_role, :id, :user_id, :include_voided);

-- name: get_order_invoice(caller_id, caller_role, order_id, user_id, include_voided)^
-- The invoice of an order (the customer's own, or any with user_id null), read for the caller
-- in one statement. read_order_invoice (migration 0021): invoices_order_id_key.
SELECT id, order_id, user_id, number, amount, issued_at, deleted_at AS voided_at
FROM read_order_invoice(:caller_id, :caller_role, :order_id, :user_id, :include_voided);

-- name: list_live_invoices(after_issued_at, after_id, limit)
-- Live invoices newest first, by keyset on (issued_at, id): invoices_live_idx.
SELECT id, order_id, user_id, number, amount, issued_at, deleted_at AS voided_at
FROM invoices
WHERE deleted_at IS NULL
  AND (issued_at, id) < (coalesce(:after_issued_at::timestamptz, 'infinity'), coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY issued_at DESC, id DESC
LIMIT :limit;

-- name: void_invoice(id)^
-- Voids a live invoice; no row when it is already void or not there: invoices_pkey.
UPDATE invoices
SET deleted_at = now()
WHERE id = :id AND deleted_at IS NULL
RETURNING id, order_id, number;

-- name: void_order_invoice(order_id)^
-- Voids the live invoice of a cancelled order, in the cancelling transaction: invoices_order_id_key.
UPDATE invoices
SET deleted_at = now()
WHERE order_id = :order_id AND deleted_at IS NULL
RETURNING id, number;
