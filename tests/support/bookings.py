"""Booking times on a day that is always ahead, and bookings made through the API."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.accounts import Account

# make_venue's factory: `await make_venue(latitude=52.52, longitude=13.405, **venue_fields)`.
VenueFactory = Callable[..., Awaitable[dict[str, Any]]]


def day_ahead(days: int = 3) -> datetime:
    """Midnight UTC some days from now: booking times that are never in the past."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(hour: float, *, day: datetime | None = None) -> str:
    """That hour of the day ahead, as ISO 8601 with Z."""
    moment = (day or day_ahead()) + timedelta(hours=hour)
    return moment.isoformat().replace("+00:00", "Z")


def booking_body(starts: float, ends: float) -> dict[str, str]:
    """A booking's request: when, never how much (the venue prices it)."""
    return {"starts_at": at(starts), "ends_at": at(ends)}


async def book(client: httpx.AsyncClient, account: Account, venue: dict[str, Any], starts: float, ends: float) -> Any:
    return await client.post(
        f"/venues/{venue['id']}/bookings", json=booking_body(starts, ends), headers=account.headers
    )
