"""Double booking under concurrency: the exclusion constraint lets exactly one through."""

import asyncio
from collections import Counter

import asyncpg

from tests.support.accounts import Account, AccountFactory
from tests.support.bookings import VenueFactory, book
from tests.support.clients import ConcurrentClientFactory


async def test_twenty_overlapping_attempts_at_once_make_exactly_one_booking(
    make_concurrent_client: ConcurrentClientFactory,
    make_account: AccountFactory,
    make_venue: VenueFactory,
    conn: asyncpg.Connection,
) -> None:
    venue = await make_venue()
    customers: list[Account] = [await make_account() for _ in range(20)]
    # Every period contains 12:00-12:30, so any two overlap; no two are alike.
    periods = [(10 + n * 0.1, 12.5 + n * 0.1) for n in range(20)]
    async with make_concurrent_client(pool_max_size=20) as client:
        responses = await asyncio.gather(
            *(book(client, who, venue, starts, ends) for who, (starts, ends) in zip(customers, periods, strict=True))
        )
    assert Counter(response.status_code for response in responses) == {201: 1, 409: 19}
    assert await conn.fetchval("SELECT count(*) FROM bookings") == 1
    winner = next(response.json() for response in responses if response.status_code == 201)
    assert await conn.fetchval("SELECT id::text FROM bookings") == winner["id"]
    assert await conn.fetchval("SELECT count(*) FROM events WHERE kind = 'booking_created'") == 1


async def test_concurrent_cancel_and_confirm_of_one_booking_leave_one_consistent_state(
    make_concurrent_client: ConcurrentClientFactory,
    customer: Account,
    staff: Account,
    make_venue: VenueFactory,
    conn: asyncpg.Connection,
) -> None:
    venue = await make_venue()
    async with make_concurrent_client(pool_max_size=8) as client:
        booking = (await book(client, customer, venue, 9, 10)).json()
        path = f"/bookings/{booking['id']}"
        responses = await asyncio.gather(
            *(client.post(f"{path}/cancel", headers=customer.headers) for _ in range(4)),
            *(client.post(f"{path}/confirm", headers=staff.headers) for _ in range(4)),
        )
    codes = Counter(response.status_code for response in responses)
    # Whichever comes first, a cancel wins in the end (confirmed bookings cancel, cancelled ones do
    # not confirm), and each change happens once: cancelled, or confirmed then cancelled.
    final = await conn.fetchval("SELECT status FROM bookings")
    changes = await conn.fetchval(
        "SELECT count(*) FROM events WHERE kind IN ('booking_confirmed', 'booking_cancelled')"
    )
    assert codes[200] == changes
    assert codes[200] + codes[409] == 8
    assert final == "cancelled"
    assert changes in {1, 2}
