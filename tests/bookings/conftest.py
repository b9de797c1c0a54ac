"""Venues made by staff through the API, and booking times on a day that is always ahead."""

import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Account

Client = AsyncTestClient[Any]
VenueFactory = Callable[..., Awaitable[dict[str, Any]]]

EARTH_RADIUS_KM = 6371.0088  # the mean radius; earthdistance's sphere is 6,378.168 km, 0.11% larger


@pytest.fixture
def make_venue(client: Client, staff: Account) -> VenueFactory:
    async def factory(*, latitude: float = 52.52, longitude: float = 13.405, **fields: Any) -> dict[str, Any]:
        body = {
            "name": f"Venue {uuid.uuid4().hex[:8]}",
            "address": "1 Test Street",
            "latitude": latitude,
            "longitude": longitude,
            "capacity": 50,
            **fields,
        }
        response = await client.post("/venues", json=body, headers=staff.headers)
        assert response.status_code == 201, response.text
        venue: dict[str, Any] = response.json()
        return venue

    return factory


def day_ahead(days: int = 3) -> datetime:
    """Midnight UTC some days from now: booking times that are never in the past."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(hour: float, *, day: datetime | None = None) -> str:
    """That hour of the day ahead, as ISO 8601 with Z."""
    moment = (day or day_ahead()) + timedelta(hours=hour)
    return moment.isoformat().replace("+00:00", "Z")


def booking_body(starts: float, ends: float, amount: str = "100.00") -> dict[str, str]:
    return {"starts_at": at(starts), "ends_at": at(ends), "amount": amount}


async def book(client: Client, account: Account, venue: dict[str, Any], starts: float, ends: float) -> Any:
    return await client.post(
        f"/venues/{venue['id']}/bookings", json=booking_body(starts, ends), headers=account.headers
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance computed here, independently of PostgreSQL's earthdistance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def offset(latitude: float, longitude: float, *, north_km: float, east_km: float) -> tuple[float, float]:
    """A point about north_km and east_km from the given one (flat-earth step, fine for a few km)."""
    return (
        latitude + north_km / 111.195,
        longitude + east_km / (111.195 * math.cos(math.radians(latitude))),
    )
