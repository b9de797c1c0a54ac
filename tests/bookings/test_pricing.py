"""Bookings priced and bounded by their venue (issue 13): the database computes the amount from
the venue's hourly price and the period, refuses a period longer than the venue allows or
starting beyond the horizon, and absurd periods are 4xx, never a 500, with no row written."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from bookshop.db.queries import queries
from tests.support.accounts import Account
from tests.support.bookings import VenueFactory, at, day_ahead
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem


async def book_body(client: Client, account: Account, venue: dict[str, Any], body: dict[str, Any]) -> Any:
    return await client.post(f"/venues/{venue['id']}/bookings", json=body, headers=account.headers)


async def assert_nothing_written(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT count(*) FROM bookings") == 0
    assert await conn.fetchval("SELECT count(*) FROM events WHERE kind = 'booking_created'") == 0


@pytest.mark.parametrize(
    ("price", "starts", "ends", "amount"),
    [
        ("40.00", 9, 12, "120.00"),  # whole hours
        ("100.00", 9, 10.5, "150.00"),  # half an hour: half the price
        ("10.00", 9, 9 + 20 / 60, "3.33"),  # 20 minutes: a third, rounded to the cent
        ("0.10", 9, 9 + 15 / 60, "0.03"),  # 0.025 rounds half up
        ("0.00", 9, 17, "0.00"),  # a free venue
    ],
)
async def test_the_amount_is_the_venues_price_times_the_hours_part_hours_pro_rata(
    client: Client,
    customer: Account,
    make_venue: VenueFactory,
    conn: asyncpg.Connection,
    price: str,
    starts: float,
    ends: float,
    amount: str,
) -> None:
    venue = await make_venue(hourly_price=price)
    response = await book_body(client, customer, venue, {"starts_at": at(starts), "ends_at": at(ends)})
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == amount
    assert await conn.fetchval("SELECT amount::text FROM bookings") == amount
    event = await conn.fetchval("SELECT payload FROM events WHERE kind = 'booking_created'")
    assert event["amount"] == amount


async def test_a_new_price_applies_to_later_bookings_only(
    client: Client, customer: Account, staff: Account, make_venue: VenueFactory
) -> None:
    venue = await make_venue(hourly_price="50.00")
    first = (await book_body(client, customer, venue, {"starts_at": at(8), "ends_at": at(10)})).json()
    changed = await client.patch(f"/venues/{venue['id']}", json={"hourly_price": "60.00"}, headers=staff.headers)
    assert changed.status_code == 200, changed.text
    second = (await book_body(client, customer, venue, {"starts_at": at(10), "ends_at": at(12)})).json()
    assert (
        second["amount"],
        (await client.get(f"/bookings/{first['id']}", headers=customer.headers)).json()["amount"],
    ) == (
        "120.00",
        "100.00",
    )


async def test_an_amount_in_the_request_is_refused_as_an_unknown_field(
    client: Client, customer: Account, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    venue = await make_venue()
    body = {"starts_at": at(9), "ends_at": at(10), "amount": "0"}
    problem = assert_problem(await book_body(client, customer, venue, body), 400, field="amount")
    assert "unknown" in problem["errors"][0]["message"].lower(), problem
    await assert_nothing_written(conn)


async def test_a_booking_longer_than_the_venue_allows_is_422_naming_ends_at(
    client: Client, customer: Account, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    venue = await make_venue(max_booking_hours=4)
    longer = await book_body(client, customer, venue, {"starts_at": at(9), "ends_at": at(13.01)})
    problem = assert_problem(longer, 422, field="ends_at")
    assert "at most 4 hours" in problem["detail"], problem
    await assert_nothing_written(conn)
    exactly = await book_body(client, customer, venue, {"starts_at": at(9), "ends_at": at(13)})
    assert exactly.status_code == 201, exactly.text


async def test_a_booking_starting_beyond_the_horizon_is_422_naming_starts_at(
    make_client: ClientFactory, customer: Account, staff: Account, conn: asyncpg.Connection
) -> None:
    async with make_client(booking_horizon_days=10) as client:
        body = {"name": "Hall", "address": "1 Road", "latitude": 1.0, "longitude": 1.0, "capacity": 10}
        venue = (await client.post("/venues", json=body | {"hourly_price": "1.00"}, headers=staff.headers)).json()
        beyond = day_ahead(11)
        far = {"starts_at": at(9, day=beyond), "ends_at": at(10, day=beyond)}
        problem = assert_problem(await book_body(client, customer, venue, far), 422, field="starts_at")
        assert "10 days" in problem["detail"], problem
        await assert_nothing_written(conn)
        within = day_ahead(9)
        near = {"starts_at": at(9, day=within), "ends_at": at(10, day=within)}
        assert (await book_body(client, customer, venue, near)).status_code == 201


async def test_the_horizon_defaults_to_a_year(client: Client, customer: Account, make_venue: VenueFactory) -> None:
    venue = await make_venue()
    next_year = day_ahead(366)
    far = {"starts_at": at(9, day=next_year), "ends_at": at(10, day=next_year)}
    assert_problem(await book_body(client, customer, venue, far), 422, field="starts_at")
    within = day_ahead(364)
    assert (
        await book_body(client, customer, venue, {"starts_at": at(9, day=within), "ends_at": at(10, day=within)})
    ).status_code == 201


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "status", "field"),
    [
        # The fuzzer's booking: from 2030 to the end of time, for nothing.
        ("2030-01-01T00:00:00Z", "9999-12-31T23:59:59Z", 422, "starts_at"),
        (None, "9999-12-31T23:59:59.999999Z", 422, "ends_at"),
        (None, "9999-12-31T23:00:00-05:00", 400, "ends_at"),  # year 10000 in UTC
        ("0001-01-01T00:00:00+01:00", None, 400, "starts_at"),  # year 0 in UTC
        ("0001-01-01T00:00:00Z", None, 400, "starts_at"),  # in the past
        (None, "10000-01-01T00:00:00Z", 400, "ends_at"),
    ],
)
async def test_absurd_periods_are_4xx_naming_the_field_never_a_500(
    client: Client,
    customer: Account,
    make_venue: VenueFactory,
    conn: asyncpg.Connection,
    starts_at: str | None,
    ends_at: str | None,
    status: int,
    field: str,
) -> None:
    venue = await make_venue(hourly_price="999999.99", max_booking_hours=8784)
    body = {"starts_at": starts_at or at(9), "ends_at": ends_at or at(10)}
    assert_problem(await book_body(client, customer, venue, body), status, field=field)
    await assert_nothing_written(conn)


async def test_the_longest_booking_of_the_dearest_venue_fits_the_amount(
    client: Client, customer: Account, make_venue: VenueFactory
) -> None:
    venue = await make_venue(hourly_price="999999.99", max_booking_hours=8784)
    starts = day_ahead()
    body = {"starts_at": at(0, day=starts), "ends_at": at(8784, day=starts)}
    response = await book_body(client, customer, venue, body)
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "8783999912.16"  # 999,999.99 for 8,784 hours


async def test_the_maximum_holds_for_every_writer_not_only_the_service(
    conn: asyncpg.Connection, customer: Account, make_venue: VenueFactory
) -> None:
    venue = await make_venue(max_booking_hours=2)
    starts = datetime.now(UTC) + timedelta(days=2)
    insert = "INSERT INTO bookings (venue_id, user_id, during, amount) VALUES ($1, $2, tstzrange($3, $4), 0)"
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        await conn.execute(insert, venue["id"], customer.user_id, starts, starts + timedelta(hours=3))
    assert refused.value.constraint_name == "bookings_within_venue_max_length"
    await conn.execute(insert, venue["id"], customer.user_id, starts, starts + timedelta(hours=2))
    with pytest.raises(asyncpg.CheckViolationError):  # nor stretched afterwards
        await conn.execute("UPDATE bookings SET during = tstzrange(lower(during), upper(during) + interval '1 hour')")
    # Lowering the maximum leaves the bookings made as they are.
    await conn.execute("UPDATE venues SET max_booking_hours = 1 WHERE id = $1", venue["id"])
    assert await conn.fetchval("SELECT count(*) FROM bookings") == 1


async def test_revenue_sums_the_amounts_the_database_computed(
    client: Client, customer: Account, staff: Account, admin_account: Account, make_venue: VenueFactory
) -> None:
    venue = await make_venue(hourly_price="33.33")
    amounts = []
    for starts, ends in [(8, 9.5), (10, 10.75), (12, 15)]:
        booking = (await book_body(client, customer, venue, {"starts_at": at(starts), "ends_at": at(ends)})).json()
        for step in ("confirm", "complete"):
            assert (await client.post(f"/bookings/{booking['id']}/{step}", headers=staff.headers)).status_code == 200
        amounts.append(Decimal(booking["amount"]))
    assert amounts == [Decimal("50.00"), Decimal("25.00"), Decimal("99.99")]  # 49.995 and 24.9975 round up
    window = {"from": at(0), "to": at(24), "group": "venue"}
    stats = (await client.get("/admin/bookings/stats", params=window, headers=admin_account.headers)).json()
    assert Decimal(stats["totals"]["revenue"]) == sum(amounts) == Decimal("174.99")


async def test_the_statement_itself_writes_nothing_beyond_the_horizon_or_the_maximum(
    conn: asyncpg.Connection, customer: Account, make_venue: VenueFactory
) -> None:
    """The rules are the INSERT's own, not the service's: called alone, it writes no row."""
    venue = await make_venue(max_booking_hours=2)
    starts = day_ahead(20)
    asked = {"venue_id": venue["id"], "user_id": customer.user_id, "horizon_days": 10}
    beyond = await queries.bookings.create_booking(conn, starts_at=starts, ends_at=starts + timedelta(hours=1), **asked)
    assert (beyond["booking_id"], beyond["beyond_horizon"], beyond["too_long"]) == (None, True, False)
    near = day_ahead(2)
    too_long = await queries.bookings.create_booking(conn, starts_at=near, ends_at=near + timedelta(hours=3), **asked)
    assert (too_long["booking_id"], too_long["beyond_horizon"], too_long["too_long"]) == (None, False, True)
    assert await conn.fetchval("SELECT count(*) FROM bookings") == 0
    made = await queries.bookings.create_booking(conn, starts_at=near, ends_at=near + timedelta(hours=2), **asked)
    assert made["booking_id"] is not None
    assert made["amount"] == Decimal("200.00")
