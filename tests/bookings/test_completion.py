"""Confirmed bookings complete themselves when they end: confirming queues a complete_booking
job due then, in the same transaction, and the worker completes only what is still confirmed."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from bookshop.jobs import service as jobs
from tests.support.accounts import Account
from tests.support.bookings import VenueFactory, at, book
from tests.support.clients import Client

ADD_BOOKING = (
    "INSERT INTO bookings (venue_id, user_id, during, amount, status)"
    " VALUES ($1, $2, tstzrange($3, $4), 80, $5) RETURNING id"
)


async def test_confirming_queues_the_completion_for_when_the_booking_ends(
    client: Client, customer: Account, staff: Account, make_venue: VenueFactory, conn: asyncpg.Connection
) -> None:
    booking = (await book(client, customer, await make_venue(), 9, 11)).json()
    assert await conn.fetchval("SELECT count(*) FROM jobs") == 0  # not while it is pending
    await client.post(f"/bookings/{booking['id']}/confirm", headers=staff.headers)
    job = await conn.fetchrow("SELECT kind, payload, status, run_at FROM jobs")
    assert (job["kind"], job["payload"], job["status"]) == ("complete_booking", {"booking_id": booking["id"]}, "queued")
    assert job["run_at"] == datetime.fromisoformat(at(11))


async def test_the_worker_completes_ended_confirmed_bookings_only_and_once(
    client: Client,
    customer: Account,
    admin_account: Account,
    make_venue: VenueFactory,
    conn: asyncpg.Connection,
    drain_queue: Any,
) -> None:
    venue_id = UUID((await make_venue())["id"])
    now = datetime.now(UTC)
    arranged = [
        (now - timedelta(hours=3), now - timedelta(hours=2), "confirmed"),
        (now - timedelta(hours=5), now - timedelta(hours=4), "cancelled"),
        (now - timedelta(hours=1), now + timedelta(hours=1), "confirmed"),  # not over yet
    ]
    ended, cancelled, running = [
        await conn.fetchval(ADD_BOOKING, venue_id, customer.user_id, starts, ends, status)
        for starts, ends, status in arranged
    ]
    for booking_id in (ended, cancelled, running, ended):  # the last: a duplicate, as a retry would be
        await jobs.enqueue(conn, kind="complete_booking", payload={"booking_id": str(booking_id)})

    await drain_queue(conn)
    statuses = dict(await conn.fetch("SELECT id, status FROM bookings"))
    assert statuses == {ended: "completed", cancelled: "cancelled", running: "confirmed"}
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'done'") == 4
    events = await conn.fetch("SELECT actor, subject FROM events WHERE kind = 'booking_completed'")
    assert [tuple(event) for event in events] == [("worker", f"booking:{ended}")]

    window = {"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat()}
    stats = (await client.get("/admin/bookings/stats", params=window, headers=admin_account.headers)).json()
    assert (stats["totals"]["completed"], stats["totals"]["revenue"]) == (1, "80.00")
