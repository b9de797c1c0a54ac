"""What each kind of job does: the handlers `bookshop worker` runs, by job kind."""

from typing import Any

from bookshop.bookings.handlers import complete_booking
from bookshop.db.pool import Connection
from bookshop.jobs.worker import Handler
from bookshop.orders.handlers import issue_invoice


async def noop(conn: Connection, payload: dict[str, Any]) -> None:
    """Does nothing: measures the queue itself (bench/jobs.py) and checks a worker end to end."""


HANDLERS: dict[str, Handler] = {
    "complete_booking": complete_booking,
    "issue_invoice": issue_invoice,
    "noop": noop,
}
