"""Jobs of the bookings context, run by `bookshop worker`."""

from typing import Any
from uuid import UUID

from bookshop.bookings import service
from bookshop.db.pool import Connection


async def complete_booking(conn: Connection, payload: dict[str, Any]) -> None:
    """Completes a confirmed booking once its period has ended (the job falls due then), so its
    amount counts as revenue. A booking cancelled or completed meanwhile is left as it is, and
    a retry completes nothing more."""
    await service.complete_ended_booking(conn, booking_id=UUID(payload["booking_id"]))
