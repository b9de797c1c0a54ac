"""Venues made by staff through the API."""

import uuid
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.bookings import VenueFactory
from tests.support.clients import Client


@pytest.fixture
def make_venue(client: Client, staff: Account) -> VenueFactory:
    async def factory(*, latitude: float = 52.52, longitude: float = 13.405, **fields: Any) -> dict[str, Any]:
        body = {
            "name": f"Venue {uuid.uuid4().hex[:8]}",
            "address": "1 Test Street",
            "latitude": latitude,
            "longitude": longitude,
            "capacity": 50,
            "hourly_price": "100.00",
            **fields,
        }
        response = await client.post("/venues", json=body, headers=staff.headers)
        assert response.status_code == 201, response.text
        venue: dict[str, Any] = response.json()
        return venue

    return factory
