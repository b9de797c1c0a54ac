"""Bookings as a client sees them: making, refusing overlaps, states, availability, my bookings."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bookshop.db.pool import act_as
from bookshop.db.queries import queries
from tests.support.accounts import Account, AccountFactory
from tests.support.bookings import VenueFactory, at, book, booking_body, day_ahead
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem

MISSING = "01900000-0000-7000-8000-000000000000"


async def test_a_booking_takes_times_with_any_offset_and_answers_in_utc(
    client: Client, customer: Account, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    venue = await make_venue(name="Loft", hourly_price="100.33")
    day = day_ahead()
    starts = (day + timedelta(hours=9)).astimezone(datetime.fromisoformat("2000-01-01T00:00+02:00").tzinfo)
    body = {"starts_at": starts.isoformat(), "ends_at": at(10.5)}
    assert "+02:00" in body["starts_at"]
    response = await client.post(f"/venues/{venue['id']}/bookings", json=body, headers=customer.headers)
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["starts_at"] == at(9)  # the same instant, written in UTC
    assert booking["ends_at"] == at(10.5)
    # 1.5 hours at 100.33 is 150.495: the venue's price for the period, rounded half up.
    assert (booking["amount"], booking["status"], booking["user_id"]) == ("150.50", "pending", str(customer.user_id))
    assert booking["venue"] == {key: venue[key] for key in ("id", "name", "address", "latitude", "longitude")}
    assert booking["created_at"].endswith("Z")

    stored = await conn.fetchval("SELECT during FROM bookings")
    assert (stored.lower, stored.upper) == (day + timedelta(hours=9), day + timedelta(hours=10.5))
    assert (stored.lower_inc, stored.upper_inc) == (True, False)
    event = await conn.fetchrow("SELECT actor, kind, subject FROM events")
    assert tuple(event) == (f"user:{customer.user_id}", "booking_created", f"booking:{booking['id']}")
    assert (await client.get(f"/bookings/{booking['id']}", headers=customer.headers)).json() == booking


async def test_touching_bookings_both_succeed_and_an_overlap_is_409_naming_the_booked_period(
    client: Client, customer: Account, make_account: AccountFactory, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    venue = await make_venue()
    other: Account = await make_account()
    assert (await book(client, customer, venue, 10, 11)).status_code == 201
    assert (await book(client, other, venue, 11, 12)).status_code == 201  # [10,11) and [11,12) only touch

    overlapping = await book(client, other, venue, 10.5, 11.5)
    problem = assert_problem(overlapping, 409, field="starts_at")
    assert problem["type"].endswith("booking-overlaps")
    # Both bookings it meets are named, as one period since they touch, in UTC; not who holds them.
    assert f"[{at(10)[:-1]}Z, {at(12)[:-1]}Z)" in problem["detail"], problem
    assert str(customer.user_id) not in overlapping.text
    assert await conn.fetchval("SELECT count(*) FROM bookings") == 2

    # Another venue, or the same one at another time, is free.
    assert (await book(client, other, await make_venue(), 10.5, 11.5)).status_code == 201
    assert (await book(client, other, venue, 12, 13)).status_code == 201


async def test_a_cancelled_booking_no_longer_blocks_its_period(
    client: Client, customer: Account, make_account: AccountFactory, make_venue: VenueFactory
) -> None:
    venue = await make_venue()
    first = (await book(client, customer, venue, 14, 16)).json()
    other: Account = await make_account()
    assert (await book(client, other, venue, 15, 17)).status_code == 409

    cancelled = await client.post(f"/bookings/{first['id']}/cancel", headers=customer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (await book(client, other, venue, 15, 17)).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (booking_body(11, 10), "ends_at"),
        (booking_body(11, 11), "ends_at"),
        ({"starts_at": at(10)[:-1], "ends_at": at(11)}, "starts_at"),  # no offset
        ({"starts_at": "tomorrow", "ends_at": at(11)}, "starts_at"),
        ({"starts_at": at(10)}, "ends_at"),
        (booking_body(10, 11) | {"user_id": MISSING}, "user_id"),
    ],
)
async def test_bad_bookings_are_400_naming_the_field(
    client: Client, customer: Account, make_venue: VenueFactory, body: dict[str, Any], field: str
) -> None:
    venue = await make_venue()
    response = await client.post(f"/venues/{venue['id']}/bookings", json=body, headers=customer.headers)
    assert_problem(response, 400, field=field)


async def test_a_booking_in_the_past_is_400_and_an_unknown_venue_404(
    client: Client, customer: Account, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    venue = await make_venue()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    body = {"starts_at": an_hour_ago.isoformat(), "ends_at": at(1)}
    response = await client.post(f"/venues/{venue['id']}/bookings", json=body, headers=customer.headers)
    assert "past" in assert_problem(response, 400, field="starts_at")["errors"][0]["message"]

    assert_problem(
        await client.post(f"/venues/{MISSING}/bookings", json=booking_body(1, 2), headers=customer.headers), 404
    )
    assert (await client.post(f"/venues/{venue['id']}/bookings", json=booking_body(1, 2))).status_code == 401
    assert await conn.fetchval("SELECT count(*) FROM bookings") == 0


async def test_only_legal_transitions_happen(
    client: Client, customer: Account, staff: Account, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    venue = await make_venue()
    booking = (await book(client, customer, venue, 9, 10)).json()
    path = f"/bookings/{booking['id']}"

    assert (await client.post(f"{path}/confirm", headers=customer.headers)).status_code == 403
    assert_problem(await client.post(f"{path}/complete", headers=staff.headers), 409)  # pending, not confirmed
    confirmed = await client.post(f"{path}/confirm", headers=staff.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    again = assert_problem(await client.post(f"{path}/confirm", headers=staff.headers), 409)
    assert again["type"].endswith("booking-state-conflict")
    assert "confirmed" in again["detail"]

    completed = await client.post(f"{path}/complete", headers=staff.headers)
    assert completed.json()["status"] == "completed"
    assert_problem(await client.post(f"{path}/cancel", headers=customer.headers), 409)
    assert_problem(await client.post(f"{path}/cancel", headers=staff.headers), 409)
    assert (await client.get(path, headers=customer.headers)).json()["status"] == "completed"

    events = await conn.fetch("SELECT kind, actor FROM events ORDER BY id")
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("booking_created", f"user:{customer.user_id}"),
        ("booking_confirmed", f"user:{staff.user_id}"),
        ("booking_completed", f"user:{staff.user_id}"),
    ]
    assert_problem(await client.post(f"/bookings/{MISSING}/confirm", headers=staff.headers), 404)


async def test_customers_reach_only_their_own_bookings_and_staff_reach_all(
    client: Client, customer: Account, staff: Account, make_account: AccountFactory, make_venue: VenueFactory
) -> None:
    venue = await make_venue()
    other: Account = await make_account()
    theirs = (await book(client, other, venue, 9, 10)).json()

    assert_problem(await client.get(f"/bookings/{theirs['id']}", headers=customer.headers), 404)
    assert_problem(await client.post(f"/bookings/{theirs['id']}/cancel", headers=customer.headers), 404)
    assert (await client.get(f"/bookings/{theirs['id']}", headers=staff.headers)).status_code == 200
    cancelled = await client.post(f"/bookings/{theirs['id']}/cancel", headers=staff.headers)
    assert cancelled.json()["status"] == "cancelled"


async def test_row_level_security_hides_other_bookings_when_the_query_forgets_the_owner(
    client: Client,
    customer: Account,
    make_account: AccountFactory,
    make_venue: VenueFactory,
    app_conn: asyncpg.Connection,
) -> None:
    other: Account = await make_account()
    theirs = uuid.UUID((await book(client, other, await make_venue(), 9, 10)).json()["id"])
    # user_id None is the staff form of the queries: only the policy stands in the way.
    as_customer = {"caller_id": customer.user_id, "caller_role": "customer"}
    assert await queries.bookings.get_booking(app_conn, **as_customer, id=theirs, user_id=None) is None
    async with app_conn.transaction():
        await act_as(app_conn, user_id=customer.user_id, role="customer")
        changed = await queries.bookings.set_booking_status(
            app_conn, id=theirs, user_id=None, from_statuses=["pending"], to_status="cancelled"
        )
        assert changed is None
        assert await app_conn.fetchval("SELECT count(*) FROM bookings") == 0
    as_other = {"caller_id": other.user_id, "caller_role": "customer"}
    found = await queries.bookings.get_booking(app_conn, **as_other, id=theirs, user_id=None)
    assert found["status"] == "pending"


async def test_availability_is_the_window_minus_live_bookings_for_anyone_to_see(
    client: Client, customer: Account, make_account: AccountFactory, make_venue: VenueFactory
) -> None:
    venue = await make_venue()
    other: Account = await make_account()
    for account, starts, ends in [(customer, 10, 11), (other, 11, 12), (customer, 14, 15), (other, 16, 17)]:
        assert (await book(client, account, venue, starts, ends)).status_code == 201
    cancelled = (await book(client, customer, venue, 7, 9)).json()
    await client.post(f"/bookings/{cancelled['id']}/cancel", headers=customer.headers)
    await book(client, customer, await make_venue(), 8, 18)  # another venue's booking changes nothing

    # The window given in +01:00: 09:00 to 19:00 there is 08:00 to 18:00 UTC.
    day = day_ahead().replace(tzinfo=None).isoformat()
    window = {"from": f"{day[:10]}T09:00:00+01:00", "to": f"{day[:10]}T19:00:00+01:00"}
    response = await client.get(f"/venues/{venue['id']}/availability", params=window)  # no API key
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["starts_at"], body["ends_at"]) == (at(8), at(18))
    assert [(p["starts_at"], p["ends_at"]) for p in body["free"]] == [
        (at(8), at(10)),  # the cancelled 07:00-09:00 does not count
        (at(12), at(14)),  # 10-11 and 11-12 touch: one booked stretch
        (at(15), at(16)),
        (at(17), at(18)),
    ]
    fully_booked = await client.get(f"/venues/{venue['id']}/availability", params={"from": at(10), "to": at(12)})
    assert fully_booked.json()["free"] == []
    untouched = await client.get(f"/venues/{venue['id']}/availability", params={"from": at(12), "to": at(13)})
    assert untouched.json()["free"] == [{"starts_at": at(12), "ends_at": at(13)}]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": at(12), "to": at(12)}, "from"),
        ({"from": at(13), "to": at(12)}, "from"),
        ({"from": at(0), "to": at(24 * 93)}, "to"),
        ({"from": at(10)[:-1], "to": at(12)}, "from"),
        ({"from": at(10), "to": at(12)[:-1]}, "to"),
        ({"to": at(12)}, "from"),
    ],
)
async def test_bad_availability_windows_are_400_naming_the_parameter(
    client: Client, make_venue: VenueFactory, params: dict[str, str], field: str
) -> None:
    venue = await make_venue()
    assert_problem(await client.get(f"/venues/{venue['id']}/availability", params=params), 400, field=field)


async def test_availability_of_an_unknown_venue_is_404(client: Client) -> None:
    assert_problem(await client.get(f"/venues/{MISSING}/availability", params={"from": at(1), "to": at(2)}), 404)


async def test_my_bookings_come_with_their_venues_latest_first_by_keyset(
    client: Client, customer: Account, make_account: AccountFactory, make_venue: VenueFactory
) -> None:
    venues = [await make_venue(name=f"Hall {n}") for n in range(3)]
    mine = [(await book(client, customer, venues[n % 3], 2 * n, 2 * n + 1)).json() for n in range(5)]
    other: Account = await make_account()
    await book(client, other, venues[0], 20, 21)

    seen: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"after": after} if after else {})
        page = await client.get("/me/bookings", params=params, headers=customer.headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        after = page.json()["next"]
        if after is None:
            break
    assert [b["id"] for b in seen] == [b["id"] for b in reversed(mine)]
    assert [b["venue"]["name"] for b in seen] == ["Hall 1", "Hall 0", "Hall 2", "Hall 1", "Hall 0"]
    assert seen == list(reversed(mine))
    assert_problem(
        await client.get("/me/bookings", params={"after": "bm90LWEtY3Vyc29y"}, headers=customer.headers),
        400,
        field="after",
    )


async def test_my_bookings_page_is_one_statement(make_client: ClientFactory, customer: Account, staff: Account) -> None:
    async with make_client(pool_min_size=1, pool_max_size=1) as client:
        body = {"name": "Hall", "address": "1 Road", "latitude": 1.0, "longitude": 1.0, "capacity": 10}
        body["hourly_price"] = "10.00"
        venues = [(await client.post("/venues", json=body, headers=staff.headers)).json() for _ in range(3)]
        for n, venue in enumerate(venues):
            assert (await book(client, customer, venue, n, n + 1)).status_code == 201
        statements: list[str] = []
        async with client.app.state.database.pool.acquire() as conn:  # the pool's only connection
            conn.add_query_logger(lambda logged: statements.append(logged.query))
        response = await client.get("/me/bookings", headers=customer.headers)
        assert len(response.json()["items"]) == 3
        # After the caller's key, one statement reads the page for the caller: no BEGIN,
        # set_caller or COMMIT around it.
        assert statements == [queries.accounts.find_api_key.sql, queries.bookings.list_user_bookings.sql], statements


async def test_staff_list_a_venues_bookings_of_every_status_in_a_window(
    client: Client, customer: Account, staff: Account, make_venue: VenueFactory
) -> None:
    venue = await make_venue()
    made = [(await book(client, customer, venue, h, h + 1)).json() for h in (8, 10, 12, 14)]
    await client.post(f"/bookings/{made[1]['id']}/cancel", headers=customer.headers)
    await book(client, customer, await make_venue(), 10, 11)  # another venue's

    window = {"from": at(9.5), "to": at(14)}  # meets 10-11 (cancelled) and 12-13; 14-15 starts at its end
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = window | {"limit": 1} | ({"after": after} if after else {})
        page = await client.get(f"/venues/{venue['id']}/bookings", params=params, headers=staff.headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        after = page.json()["next"]
        if after is None:
            break
    assert [(b["id"], b["status"]) for b in seen] == [(made[1]["id"], "cancelled"), (made[2]["id"], "pending")]
    assert (
        await client.get(f"/venues/{venue['id']}/bookings", params=window, headers=customer.headers)
    ).status_code == 403
