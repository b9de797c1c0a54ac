"""Booking stats: counts by status and completed revenue, by UTC day or venue, checked against
the same figures computed here in Python from the rows as arranged."""

import random
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tests.support.accounts import Account, AccountFactory
from tests.support.clients import Client
from tests.support.problems import assert_problem

STATUSES = ("pending", "confirmed", "completed", "cancelled")
ADD_VENUE = (
    "INSERT INTO venues (name, address, latitude, longitude, capacity) VALUES ($1, 'Road', 0, 0, 10) RETURNING id"
)
ADD_BOOKING = (
    "INSERT INTO bookings (venue_id, user_id, during, amount, status) VALUES ($1, $2, tstzrange($3, $4), $5, $6)"
)


@pytest.fixture
async def arranged(conn: asyncpg.Connection, make_account: AccountFactory) -> list[dict[str, Any]]:
    """About 150 bookings over three venues from 2025-02-26 to 2025-03-11, arranged as the owner
    (past dates are fine there), each start on the hour, statuses and amounts at random."""
    rng = random.Random(11)  # noqa: S311 - test data, the same every run
    customer: Account = await make_account()
    rows: list[dict[str, Any]] = []
    for n in range(3):
        venue_id = await conn.fetchval(ADD_VENUE, f"Venue {n}")
        moment = datetime(2025, 2, 26, tzinfo=UTC)
        while moment < datetime(2025, 3, 11, tzinfo=UTC):
            ends = moment + timedelta(hours=rng.randint(1, 5))
            row = {
                "venue_id": venue_id,
                "venue_name": f"Venue {n}",
                "starts": moment,
                "status": rng.choice(STATUSES),
                "amount": Decimal(rng.randint(0, 99_999)) / 100,
            }
            await conn.execute(ADD_BOOKING, venue_id, customer.user_id, moment, ends, row["amount"], row["status"])
            rows.append(row)
            moment = ends + timedelta(hours=rng.randint(0, 6))
    return rows


def expected(rows: list[dict[str, Any]], starts: datetime, ends: datetime, key: str) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0) | {"revenue": Decimal(0)})
    for row in rows:
        if not starts <= row["starts"] < ends:
            continue
        group = row["starts"].astimezone(UTC).date() if key == "day" else row["venue_id"]
        for target in (groups[group], groups["totals"]):
            target[row["status"]] += 1
            if row["status"] == "completed":
                target["revenue"] += row["amount"]
    return groups


def counts(row: dict[str, Any]) -> dict[str, Any]:
    assert row["bookings"] == sum(row[s] for s in STATUSES)
    assert re.fullmatch(r"\d+\.\d\d", row["revenue"]), row["revenue"]  # cents always written
    return {s: row[s] for s in STATUSES} | {"revenue": Decimal(row["revenue"])}


async def test_stats_by_day_match_a_recomputation_and_days_are_utc(
    client: Client, admin_account: Account, arranged: list[dict[str, Any]]
) -> None:
    # Midnight at +02:00 is 22:00 UTC the day before: that evening's bookings count, on their UTC day.
    window = {"from": "2025-03-01T00:00:00+02:00", "to": "2025-03-08T00:00:00Z", "group": "day"}
    response = await client.get("/admin/bookings/stats", params=window, headers=admin_account.headers)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["starts_at"], stats["ends_at"], stats["group"]) == (
        "2025-02-28T22:00:00Z",
        "2025-03-08T00:00:00Z",
        "day",
    )

    want = expected(arranged, datetime(2025, 2, 28, 22, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC), "day")
    assert counts(stats["totals"]) == want.pop("totals")
    assert [row["day"] for row in stats["rows"]] == [day.isoformat() for day in sorted(want)]
    assert stats["rows"][0]["day"] == "2025-02-28"
    assert {date.fromisoformat(row["day"]): counts(row) for row in stats["rows"]} == want
    assert all("venue_id" not in row for row in stats["rows"])


async def test_stats_by_venue_match_a_recomputation_highest_revenue_first(
    client: Client, admin_account: Account, arranged: list[dict[str, Any]]
) -> None:
    window = {"from": "2025-03-02T06:00:00Z", "to": "2025-03-09T18:00:00Z", "group": "venue"}
    stats = (await client.get("/admin/bookings/stats", params=window, headers=admin_account.headers)).json()
    want = expected(arranged, datetime(2025, 3, 2, 6, tzinfo=UTC), datetime(2025, 3, 9, 18, tzinfo=UTC), "venue")
    assert counts(stats["totals"]) == want.pop("totals")
    got = {row["venue_id"]: counts(row) for row in stats["rows"]}
    assert got == {str(venue_id): figures for venue_id, figures in want.items()}
    revenues = [Decimal(row["revenue"]) for row in stats["rows"]]
    assert revenues == sorted(revenues, reverse=True)
    names = {str(row["venue_id"]): row["venue_name"] for row in arranged}
    assert all(row["venue_name"] == names[row["venue_id"]] for row in stats["rows"])


async def test_a_window_starts_inclusive_and_ends_exclusive(
    client: Client, admin_account: Account, arranged: list[dict[str, Any]]
) -> None:
    first = min(arranged, key=lambda row: row["starts"])["starts"]
    second = sorted({row["starts"] for row in arranged})[1]
    window = {"from": first.isoformat(), "to": second.isoformat()}
    stats = (await client.get("/admin/bookings/stats", params=window, headers=admin_account.headers)).json()
    assert stats["totals"]["bookings"] == sum(1 for row in arranged if row["starts"] == first)


async def test_an_empty_window_has_zero_totals_and_no_rows(client: Client, admin_account: Account) -> None:
    window = {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z", "group": "venue"}
    stats = (await client.get("/admin/bookings/stats", params=window, headers=admin_account.headers)).json()
    assert stats["totals"] == dict.fromkeys(STATUSES, 0) | {"bookings": 0, "revenue": "0.00"}
    assert stats["rows"] == []


async def test_stats_are_for_admins_and_check_their_parameters(
    client: Client, admin_account: Account, staff: Account
) -> None:
    window = {"from": "2025-03-01T00:00:00Z", "to": "2025-03-08T00:00:00Z"}
    assert (await client.get("/admin/bookings/stats", params=window, headers=staff.headers)).status_code == 403
    assert (await client.get("/admin/bookings/stats", params=window)).status_code == 401
    headers = admin_account.headers
    bad_group = await client.get("/admin/bookings/stats", params=window | {"group": "week"}, headers=headers)
    assert_problem(bad_group, 400, field="group")
    too_long = {"from": "2024-01-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"}
    assert_problem(await client.get("/admin/bookings/stats", params=too_long, headers=headers), 400, field="to")
    naive = {"from": "2025-03-01T00:00:00", "to": "2025-03-08T00:00:00Z"}
    assert_problem(await client.get("/admin/bookings/stats", params=naive, headers=headers), 400, field="from")
