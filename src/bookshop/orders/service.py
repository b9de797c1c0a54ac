"""The orders context's operations over sql/orders/: placing an order (stock, idempotency), its states, invoices."""

import hashlib
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from bookshop.db.pool import Actor, Connection
from bookshop.db.queries import queries
from bookshop.jobs import service as jobs
from bookshop.ops.service import record_event
from bookshop.orders.schemas import Invoice, Order, OrderLineIn, OrderStatus, OrderSummary, Shortfall

q = queries.orders

CANCELLABLE: tuple[OrderStatus, ...] = ("pending", "paid")


class IdempotencyKeyReused(Exception):
    """The key already made an order from a different request."""


class BooksUnavailable(Exception):
    def __init__(self, book_ids: list[UUID]) -> None:
        super().__init__(book_ids)
        self.book_ids = book_ids


class StockShort(Exception):
    def __init__(self, shortfalls: list[Shortfall]) -> None:
        super().__init__(shortfalls)
        self.shortfalls = shortfalls


def request_hash(lines: Sequence[OrderLineIn]) -> str:
    """What a key commits to: the lines as sent, in their order."""
    return hashlib.sha256(msgspec.json.encode(lines)).hexdigest()


async def place_order(
    conn: Connection, *, user_id: UUID, idempotency_key: str, lines: Sequence[OrderLineIn]
) -> tuple[UUID, bool]:
    """Places an order in the caller's transaction: stock taken for every line or for none,
    prices captured, an issue_invoice job queued, the event logged. Returns the order's id and
    whether it was placed now (False: the key's earlier order, replayed).

    Raises IdempotencyKeyReused, BooksUnavailable or StockShort; the caller's transaction must
    then roll back, which undoes whatever this did."""
    fingerprint = request_hash(lines)
    order_id: UUID | None = await q.claim_idempotency_key(
        conn, user_id=user_id, idempotency_key=idempotency_key, request_hash=fingerprint
    )
    if order_id is None:
        earlier = await q.get_order_by_idempotency_key(conn, user_id=user_id, idempotency_key=idempotency_key)
        if earlier["request_hash"] != fingerprint:
            raise IdempotencyKeyReused
        earlier_id: UUID = earlier["id"]
        return earlier_id, False

    book_ids = [line.book_id for line in lines]
    quantities = [line.quantity for line in lines]
    await q.lock_books_for_order(conn, book_ids=book_ids)
    taken = [row async for row in q.take_stock(conn, book_ids=book_ids, quantities=quantities)]
    if len(taken) < len(lines):
        refusals = [row async for row in q.order_shortfalls(conn, book_ids=book_ids, quantities=quantities)]
        if missing := [row["book_id"] for row in refusals if row["missing"]]:
            raise BooksUnavailable(missing)
        raise StockShort(
            [Shortfall(book_id=r["book_id"], available=r["available"], wanted=r["wanted"]) for r in refusals]
        )
    total = await q.add_order_lines(conn, order_id=order_id, book_ids=book_ids, quantities=quantities)
    await jobs.enqueue(conn, kind="issue_invoice", payload={"order_id": str(order_id)})
    await record_event(
        conn,
        actor=f"user:{user_id}",
        kind="order_placed",
        subject=f"order:{order_id}",
        payload={"total": str(total), "lines": len(lines)},
    )
    return order_id, True


async def get_order(conn: Connection, *, caller: Actor, order_id: UUID, owner: UUID | None) -> Order | None:
    """An order with its lines and their titles, read for `caller` in one statement (no
    transaction needed); None when it is not there or not `owner`'s (None: anyone's, for staff)."""
    row = await q.get_order(conn, caller_id=caller.user_id, caller_role=caller.role, id=order_id, user_id=owner)
    return None if row is None else msgspec.convert(dict(row), Order)


async def list_user_orders(
    conn: Connection, *, caller: Actor, user_id: UUID, after: UUID | None, limit: int
) -> list[OrderSummary]:
    """A page of the user's orders, read for `caller` in one statement (no transaction needed)."""
    rows = q.list_user_orders(
        conn, caller_id=caller.user_id, caller_role=caller.role, user_id=user_id, after_id=after, limit=limit
    )
    return [OrderSummary(**row) async for row in rows]


async def change_status(
    conn: Connection, *, order_id: UUID, owner: UUID | None, allowed_from: Sequence[OrderStatus], to: OrderStatus
) -> OrderStatus | None:
    """Moves `owner`'s order (None: anyone's) to `to` if it is in one of `allowed_from`. Returns
    None when done, else the status that forbids it; LookupError when there is no such order."""
    changed = await q.set_order_status(conn, id=order_id, user_id=owner, from_statuses=list(allowed_from), to_status=to)
    if changed is not None:
        return None
    found: OrderStatus | None = await q.get_order_status(conn, id=order_id, user_id=owner)
    if found is None:
        raise LookupError(order_id)
    return found


async def cancel_order(conn: Connection, *, order_id: UUID, owner: UUID | None, actor: str) -> OrderStatus | None:
    """Cancels a pending or paid order: restocks its lines and voids its invoice in the caller's
    transaction. Returns None when done, else the status that forbids it; LookupError when the
    order is not there. Two concurrent cancels: the second finds it cancelled, so the stock
    comes back once."""
    refused = await change_status(conn, order_id=order_id, owner=owner, allowed_from=CANCELLABLE, to="cancelled")
    if refused is not None:
        return refused
    await q.restock_order(conn, order_id=order_id)
    voided = await q.void_order_invoice(conn, order_id=order_id)
    await record_event(
        conn,
        actor=actor,
        kind="order_cancelled",
        subject=f"order:{order_id}",
        payload={"voided_invoice": None if voided is None else voided["number"]},
    )
    return None


async def issue_invoice(conn: Connection, *, order_id: UUID) -> Invoice | None:
    """Issues the order's invoice unless it has one or was cancelled; None when nothing was issued."""
    row = await q.issue_invoice(conn, order_id=order_id)
    return None if row is None else Invoice(**row)


async def get_invoice(
    conn: Connection, *, caller: Actor, invoice_id: UUID, owner: UUID | None, include_voided: bool
) -> Invoice | None:
    """One invoice, read for `caller` in one statement (no transaction needed)."""
    row = await q.get_invoice(
        conn,
        caller_id=caller.user_id,
        caller_role=caller.role,
        id=invoice_id,
        user_id=owner,
        include_voided=include_voided,
    )
    return None if row is None else Invoice(**row)


async def get_order_invoice(
    conn: Connection, *, caller: Actor, order_id: UUID, owner: UUID | None, include_voided: bool
) -> Invoice | None:
    """An order's invoice, read for `caller` in one statement (no transaction needed)."""
    row = await q.get_order_invoice(
        conn,
        caller_id=caller.user_id,
        caller_role=caller.role,
        order_id=order_id,
        user_id=owner,
        include_voided=include_voided,
    )
    return None if row is None else Invoice(**row)


async def list_live_invoices(conn: Connection, *, after: tuple[datetime, UUID] | None, limit: int) -> list[Invoice]:
    after_issued_at, after_id = after if after is not None else (None, None)
    rows = q.list_live_invoices(conn, after_issued_at=after_issued_at, after_id=after_id, limit=limit)
    return [Invoice(**row) async for row in rows]


async def void_invoice(conn: Connection, *, invoice_id: UUID, actor: str) -> bool:
    """Voids a live invoice; False when there is none by that id (or it is void already)."""
    voided = await q.void_invoice(conn, id=invoice_id)
    if voided is None:
        return False
    await record_event(
        conn,
        actor=actor,
        kind="invoice_voided",
        subject=f"invoice:{invoice_id}",
        payload={"order_id": str(voided["order_id"]), "number": voided["number"]},
    )
    return True
