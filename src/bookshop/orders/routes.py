"""HTTP routes of the orders context: placing, reading and cancelling orders; invoices."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from bookshop.accounts.schemas import Caller
from bookshop.db.pool import Connection
from bookshop.http.auth import rows_of
from bookshop.http.dependencies import CurrentCaller, Db, Staff
from bookshop.http.errors import FieldError, ProblemError, found
from bookshop.http.pagination import Keyset, KeysetPage, KeysetParams
from bookshop.orders import service
from bookshop.orders.schemas import Invoice, Order, OrderIn, OrderStatus, OrderSummary

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any unique string per order, e.g. a UUID: a retry with the same key and body returns the "
        "same order instead of placing another.",
    ),
]
IncludeVoided = Annotated[bool, QueryParameter(description="Staff only: show a voided invoice too.")]


def provide_with_voided(caller: CurrentCaller, include_voided: IncludeVoided = False) -> bool:
    """Whether an invoice read may show a voided invoice: only staff may ask."""
    if include_voided and not caller.is_staff:
        raise PermissionDeniedException(detail="Only staff may see voided invoices.")
    return include_voided


WITH_VOIDED = {"with_voided": Provide(provide_with_voided, sync_to_thread=False)}

MY_ORDERS = Keyset("my-orders", key=lambda order: order.id, key_type=UUID)
INVOICES = Keyset("invoices", key=lambda invoice: (invoice.issued_at, invoice.id), key_type=tuple[datetime, UUID])


def _actor(caller: Caller) -> str:
    return f"user:{caller.user_id}"


def _refused_change(order_id: UUID, status: OrderStatus, action: str) -> ProblemError:
    return ProblemError(409, "order-state-conflict", detail=f"Order {order_id} is {status}: it cannot be {action}.")


async def _order_after(conn: Connection, caller: Caller, order_id: UUID) -> Order:
    order = await service.get_order(conn, caller=caller, order_id=order_id, owner=None)
    assert order is not None  # the caller just changed it, in this transaction
    return order


class OrderController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post(
        "/",
        summary="Place an order: stock for every line or nothing; 409 names the books that are short.",
        description="Send an Idempotency-Key header. The same key and body again returns the same order (200, "
        "Idempotent-Replayed: true); the same key with another body is 422.",
    )
    async def place_order(
        self, db: Db, caller: CurrentCaller, idempotency_key: IdempotencyKey, data: JSONBody[OrderIn]
    ) -> Response[Order]:
        line_of = {line.book_id: index for index, line in enumerate(data.lines)}
        try:
            async with db.transaction(caller) as conn:
                order_id, placed = await service.place_order(
                    conn, user_id=caller.user_id, idempotency_key=idempotency_key, lines=data.lines
                )
                order = await _order_after(conn, caller, order_id)
        except service.IdempotencyKeyReused:
            raise ProblemError(
                422,
                "idempotency-key-reused",
                detail="This Idempotency-Key already placed an order with other lines; use a new key.",
                errors=[FieldError(field="Idempotency-Key", message="Already used for another order", source="header")],
            ) from None
        except service.BooksUnavailable as unavailable:
            raise ProblemError(
                422,
                "books-unavailable",
                detail="Some books cannot be ordered: " + ", ".join(map(str, unavailable.book_ids)),
                errors=[
                    FieldError(field=f"lines[{line_of[book_id]}].book_id", message=f"No book {book_id} for sale")
                    for book_id in unavailable.book_ids
                ],
            ) from None
        except service.StockShort as short:
            raise ProblemError(
                409,
                "insufficient-stock",
                detail="Not enough stock for: " + ", ".join(str(s.book_id) for s in short.shortfalls),
                errors=[
                    FieldError(
                        field=f"lines[{line_of[s.book_id]}].quantity",
                        message=f"Book {s.book_id}: {s.available} left, {s.wanted} wanted",
                    )
                    for s in short.shortfalls
                ],
            ) from None
        if placed:
            return Response(order, status_code=201)
        return Response(order, status_code=200, headers={"Idempotent-Replayed": "true"})

    @get("/{order_id:uuid}", summary="An order with its lines (yours; staff: any).")
    async def get_order(self, db: Db, caller: CurrentCaller, order_id: FromPath[UUID]) -> Order:
        async with db.connection() as conn:
            order = await service.get_order(conn, caller=caller, order_id=order_id, owner=rows_of(caller))
        return found(order, f"No order {order_id}.")

    @post("/{order_id:uuid}/cancel", status_code=200, summary="Cancel a pending or paid order; restocks it.")
    async def cancel_order(self, db: Db, caller: CurrentCaller, order_id: FromPath[UUID]) -> Order:
        async with db.transaction(caller) as conn:
            try:
                refused = await service.cancel_order(
                    conn, order_id=order_id, owner=rows_of(caller), actor=_actor(caller)
                )
            except LookupError:
                raise NotFoundException(detail=f"No order {order_id}.") from None
            if refused is not None:
                raise _refused_change(order_id, refused, "cancelled")
            return await _order_after(conn, caller, order_id)

    @post("/{order_id:uuid}/pay", status_code=200, summary="Mark a pending order paid (staff).")
    async def pay_order(self, db: Db, staff: Staff, order_id: FromPath[UUID]) -> Order:
        return await self._advance(db, staff, order_id, allowed_from="pending", to="paid")

    @post("/{order_id:uuid}/ship", status_code=200, summary="Mark a paid order shipped (staff).")
    async def ship_order(self, db: Db, staff: Staff, order_id: FromPath[UUID]) -> Order:
        return await self._advance(db, staff, order_id, allowed_from="paid", to="shipped")

    async def _advance(
        self, db: Db, staff: Caller, order_id: UUID, *, allowed_from: OrderStatus, to: OrderStatus
    ) -> Order:
        async with db.transaction(staff) as conn:
            try:
                refused = await service.change_status(
                    conn, order_id=order_id, owner=None, allowed_from=[allowed_from], to=to
                )
            except LookupError:
                raise NotFoundException(detail=f"No order {order_id}.") from None
            if refused is not None:
                raise _refused_change(order_id, refused, f"marked {to}")
            return await _order_after(conn, staff, order_id)

    @get(
        "/{order_id:uuid}/invoice",
        dependencies=WITH_VOIDED,
        summary="An order's invoice (yours; staff: any, voided ones on request).",
    )
    async def get_order_invoice(
        self, db: Db, caller: CurrentCaller, with_voided: NamedDependency[bool], order_id: FromPath[UUID]
    ) -> Invoice:
        async with db.connection() as conn:
            invoice = await service.get_order_invoice(
                conn, caller=caller, order_id=order_id, owner=rows_of(caller), include_voided=with_voided
            )
        return found(invoice, f"Order {order_id} has no invoice (yet, or it was voided).")


class MyOrderController(Controller):
    path = "/me/orders"
    tags = ["orders"]

    @get("/", dependencies=MY_ORDERS.dependencies, summary="Your orders, newest first, by keyset.")
    async def list_my_orders(
        self, db: Db, caller: CurrentCaller, keyset: NamedDependency[KeysetParams[UUID]]
    ) -> KeysetPage[OrderSummary]:
        async with db.connection() as conn:
            orders = await service.list_user_orders(
                conn, caller=caller, user_id=caller.user_id, after=keyset.after, limit=keyset.limit
            )
        return keyset.page(orders)


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["orders"]

    @get("/", dependencies=INVOICES.dependencies, summary="Live invoices newest first, by keyset (staff).")
    async def list_invoices(
        self, db: Db, staff: Staff, keyset: NamedDependency[KeysetParams[tuple[datetime, UUID]]]
    ) -> KeysetPage[Invoice]:
        async with db.transaction(staff) as conn:
            invoices = await service.list_live_invoices(conn, after=keyset.after, limit=keyset.limit)
        return keyset.page(invoices)

    @get(
        "/{invoice_id:uuid}",
        dependencies=WITH_VOIDED,
        summary="One invoice (yours; staff: any, voided ones on request).",
    )
    async def get_invoice(
        self, db: Db, caller: CurrentCaller, with_voided: NamedDependency[bool], invoice_id: FromPath[UUID]
    ) -> Invoice:
        async with db.connection() as conn:
            invoice = await service.get_invoice(
                conn, caller=caller, invoice_id=invoice_id, owner=rows_of(caller), include_voided=with_voided
            )
        return found(invoice, f"No invoice {invoice_id}.")

    @delete("/{invoice_id:uuid}", summary="Void an invoice (staff): kept, but hidden unless asked for.")
    async def void_invoice(self, db: Db, staff: Staff, invoice_id: FromPath[UUID]) -> None:
        async with db.transaction(staff) as conn:
            voided = await service.void_invoice(conn, invoice_id=invoice_id, actor=_actor(staff))
        found(voided, f"No live invoice {invoice_id}.")
