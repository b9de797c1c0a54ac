"""Jobs of the orders context, run by `bookshop worker`."""

from typing import Any
from uuid import UUID

from bookshop.db.pool import Connection
from bookshop.ops.service import record_event
from bookshop.orders import service


async def issue_invoice(conn: Connection, payload: dict[str, Any]) -> None:
    """Issues an order's invoice; running it again (a retry) issues nothing more."""
    order_id = UUID(payload["order_id"])
    invoice = await service.issue_invoice(conn, order_id=order_id)
    if invoice is not None:
        await record_event(
            conn,
            actor="worker",
            kind="invoice_issued",
            subject=f"invoice:{invoice.id}",
            payload={"order_id": str(order_id), "number": invoice.number, "amount": str(invoice.amount)},
        )
